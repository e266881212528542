import FleetData
import FleetJobs
import FleetSupport

/// Follow-up work committed as a job together with the change that calls for it, and
/// what the request does once the change has committed: carry the work out itself at once
/// (the job, due a little later, is the guarantee if it cannot), or wake the workers.
enum AfterCommit: Sendable {
    case inline(job: Int64, owner: FleetID, what: String, queue: String, work: @Sendable () async throws -> Void)
    case wake(queue: String)
    /// Cache entries to drop in this process only (no other instance shares them).
    case invalidate([CacheChange], ConduitCaches)

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
        return .inline(job: id, owner: owner, what: type.name, queue: type.queue, work: work)
    }
}

extension ConduitServices {
    /// Makes the cache entries `changes` name stale once the transaction on `owner`'s shard
    /// commits: with shared caches, as a job committed with the change (a process killed
    /// right after the commit cannot leave the other instances stale until the TTL);
    /// otherwise at once after the commit (the caches die with the process).
    func invalidating(_ changes: [CacheChange], owner: FleetID, now: Int64, in db: any SQLExecutor) async throws -> AfterCommit? {
        let caches = caches
        guard caches.shared else { return .invalidate(changes, caches) }
        return try await AfterCommit.enqueue(ConduitJobs.invalidate, changes, owner: owner, now: now, in: db) { try await caches.apply(changes) }
    }

    /// Carries out follow-up work after its change committed: each inline piece within the
    /// shards' timeout, then their jobs marked done, one statement per shard. After a
    /// failure the other inline pieces are left to their jobs too (a shard is likely down,
    /// and the request must not wait a timeout per piece), and those jobs are made due
    /// now instead of after the grace: work such as an invalidation that Redis refused
    /// leaves other instances stale until it is done. Wake-ups and local invalidations,
    /// which have no job, still run.
    func deliver(_ followUps: [AfterCommit?]) async {
        var failed = false
        var done: [(job: Int64, owner: FleetID)] = []
        var left: [(job: Int64, owner: FleetID, queue: String)] = []
        for case let followUp? in followUps {
            switch followUp {
            case .wake(let queue):
                enqueued(queue)
            case .invalidate(let changes, let caches):
                // Caches that no other instance shares: there is nothing to publish.
                try? await caches.apply(changes)
            case .inline(let job, let owner, let what, let queue, let work):
                guard !failed else {
                    left.append((job, owner, queue))
                    continue
                }
                // For tests: die here, after the commit and before the follow-up work.
                Failpoint.check("after-commit.\(what)")
                do {
                    try await shards.bounded { try await work() }
                    done.append((job, owner))
                } catch {
                    logger.warning("follow-up work not done yet; its job will do it", metadata: ["job": "\(what)", "error": "\(error)"])
                    failed = true
                    left.append((job, owner, queue))
                }
            }
        }
        // Jobs left available only run again, harmlessly, and jobs not made due now run
        // after the grace: a failure here is not the request's.
        let now = WallClock.microseconds()
        let store = JobStore()
        for group in shards.partition(done, by: \.owner) {
            let jobs = group.items.map(\.job)
            try? await shards.bounded { try await store.completeUnclaimed(jobs, now: now, in: shards.nodes[group.physical]) }
        }
        for group in shards.partition(left, by: \.owner) {
            let jobs = group.items.map(\.job)
            try? await shards.bounded { try await store.makeDue(jobs, now: now, in: shards.nodes[group.physical]) }
        }
        for queue in Set(left.map(\.queue)) { enqueued(queue) }
    }

    func deliver(_ followUp: AfterCommit?) async {
        await deliver([followUp])
    }
}
