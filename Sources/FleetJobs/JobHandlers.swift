/// The handlers a worker runs, by job name. Handlers run at least once per job: a worker
/// that dies, stalls past its lease or loses its database mid-job leaves the job to run
/// again, so every handler must be idempotent (applying it twice, or late, changes
/// nothing more than applying it once).
public struct JobHandlers: Sendable {
    struct Entry: Sendable {
        var queue: String
        var retry: RetryPolicy
        var run: @Sendable (ClaimedJob) async throws -> JobOutcome
    }

    private(set) var entries: [String: Entry] = [:]

    public init() {}

    /// Registers the handler of `type`; a later registration of the same name replaces it.
    public mutating func register<Payload>(
        _ type: JobType<Payload>, _ handler: @escaping @Sendable (Payload, ClaimedJob) async throws -> JobOutcome
    ) {
        entries[type.name] = Entry(queue: type.queue, retry: type.retry) { job in try await handler(try type.payload(of: job), job) }
    }

    /// The queues that have at least one handler.
    public var queues: Set<String> { Set(entries.values.map(\.queue)) }

    func entry(for name: String) -> Entry? { entries[name] }

    /// Runs the handler of a claimed job, outside any worker (tests run each handler twice
    /// and late this way). Throws `badPayload` for a job no handler is registered for.
    public func run(_ job: ClaimedJob) async throws -> JobOutcome {
        guard let entry = entries[job.name] else { throw JobError(code: .badPayload, job: job.id, detail: "no handler for jobs named \(job.name)") }
        return try await entry.run(job)
    }
}
