import FleetData
import FleetJobs
import FleetSupport

/// Follow-up work committed as a job together with the change that calls for it, and
/// what the request does once the change has committed: carry the work out itself at once
/// (the job, due a little later, is the guarantee if it cannot), or wake the workers.
enum AfterCommit: Sendable {
    case inline(job: Int64, owner: FleetID, what: String, work: @Sendable () async throws -> Void)
    case wake(queue: String)

    /// How long an inline job waits for its request before a worker takes it.
    static let grace: Int64 = 10_000_000

    /// Enqueues `payload` in the caller's transaction on `owner`'s shard (`now` in
    /// milliseconds). `inline` work is due after the grace period; other work at once.
    static func enqueue<Payload>(
        _ type: JobType<Payload>, _ payload: Payload, owner: FleetID, now: Int64, in db: any SQLExecutor,
        inline work: (@Sendable () async throws -> Void)?
    ) async throws -> AfterCommit? {
        let now = now * 1000
        let job = try type.make(payload, runAt: work == nil ? now : now + grace)
        guard let id = try await JobStore().enqueue(job, now: now, in: db) else { return nil }
        guard let work else { return .wake(queue: type.queue) }
        return .inline(job: id, owner: owner, what: type.name, work: work)
    }
}

extension ConduitServices {
    /// Carries out follow-up work after its change committed: each inline piece within the
    /// shards' timeout, then its job marked done. After a failure the rest is left to the
    /// jobs (a shard is likely down, and the request must not wait a timeout per piece).
    func deliver(_ followUps: [AfterCommit?]) async {
        for case let followUp? in followUps {
            switch followUp {
            case .wake(let queue):
                enqueued(queue)
            case .inline(let job, let owner, let what, let work):
                do {
                    try await shards.bounded {
                        try await work()
                        try await JobStore().completeUnclaimed(job, now: WallClock.microseconds(), in: shards.node(for: owner))
                    }
                } catch {
                    logger.warning("follow-up work not done yet; its job will do it", metadata: ["job": "\(what)", "error": "\(error)"])
                    return
                }
            }
        }
    }

    func deliver(_ followUp: AfterCommit?) async {
        await deliver([followUp])
    }
}
