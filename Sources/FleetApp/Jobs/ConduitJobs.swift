public import FleetJobs

/// Conduit's asynchronous work: every job type, its queue, and its handler. Every handler
/// is idempotent (jobs run at least once) and tested by running it twice and late.
///
/// | job | queue | what it does |
/// |---|---|---|
/// | `edge.reconcile` | `edges` | mirrors a follow or favorite on the target's shard (`EdgeRelay`) |
public enum ConduitJobs {
    /// A follow's or favorite's far side to bring in line with its owner's shard. Enqueued
    /// ready a little later: the request delivers it inline right after commit, and the
    /// job only runs if that did not happen (crash, shard down).
    static let edge = JobType<Edge>("edge.reconcile", queue: "edges", retry: RetryPolicy(maxAttempts: 25, base: .seconds(1), cap: .seconds(300)))

    /// How long an edge job waits for its request to deliver it inline.
    static let inlineGrace: Int64 = 10_000_000

    /// Every queue Conduit uses.
    public static let queues = ["edges"]

    /// The handlers of every job type, over `services`.
    public static func handlers(_ services: ConduitServices) -> JobHandlers {
        var handlers = JobHandlers()
        handlers.register(edge) { edge, _ in
            try await services.shards.bounded { try await services.edges.reconcile(edge) }
            return .completed
        }
        return handlers
    }
}
