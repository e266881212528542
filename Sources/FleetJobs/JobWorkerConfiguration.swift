/// How a worker runs: which queues, how many jobs of each at once, and its timings.
public struct JobWorkerConfiguration: Sendable {
    /// Queue name → most jobs of that queue running at once in this process.
    public var queues: [String: Int]
    /// How long a claim holds a job; the heartbeat renews it while the handler runs, so a
    /// job comes back this long after its worker stopped (died, paused, cut off).
    public var lease: Duration = .seconds(30)
    /// How often a running job's lease is renewed (well under `lease`).
    public var heartbeat: Duration = .seconds(10)
    /// The longest a queue waits before looking for work again without a wake-up
    /// (notifications are a hint; this is the guarantee).
    public var pollInterval: Duration = .seconds(1)
    /// Whether to listen for PostgreSQL's notifications of ready jobs (off: polling only,
    /// for comparison).
    public var listen = true
    /// On shutdown, how long running jobs may take to finish before they are cancelled
    /// and their leases released.
    public var grace: Duration = .seconds(10)
    /// How often expired leases are released and the queues' figures reported.
    public var maintenanceInterval: Duration = .seconds(1)
    /// Completed jobs are kept this long, dead ones `deadRetention`; then deleted in
    /// batches of `retentionBatch`.
    public var retention: Duration = .seconds(24 * 3600)
    public var deadRetention: Duration = .seconds(7 * 24 * 3600)
    public var retentionBatch = 1000
    /// How often retention runs.
    public var retentionInterval: Duration = .seconds(60)

    public init(queues: [String: Int]) {
        self.queues = queues.mapValues { max(1, $0) }
    }
}
