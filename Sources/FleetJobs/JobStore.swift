public import FleetData
import FleetSupport
import Foundation
import Tracing

/// The jobs table's operations, on SQLite and PostgreSQL with one SQL text. Every change
/// to a running job is fenced by its lease token (`WHERE lease_token = …`): a worker that
/// was presumed dead (paused, partitioned) and comes back finds `JobError.leaseLost`
/// instead of finishing a job another worker holds now. Knows nothing of what jobs do.
public struct JobStore: Sendable {
    public init() {}

    /// Adds a job inside the caller's transaction, so it commits or rolls back with the
    /// change that produced it. Returns its id, or nil when a job with the same unique key
    /// is available or running (nothing is added).
    @discardableResult
    ///
    /// With tracing on, this is a producer span, and the job stores its trace context: its
    /// run is then a consumer span in the same trace (`JobTraceContext`).
    public func enqueue(_ job: NewJob, now: Int64, in db: any SQLExecutor) async throws -> Int64? {
        try await withSpan("\(job.name) publish", ofKind: .producer) { span in
            let trace = JobTraceContext(span.context)
            if span.isRecording {
                span.updateAttributes { attributes in
                    attributes["messaging.system"] = "fleet"
                    attributes["messaging.operation.type"] = "send"
                    attributes["messaging.destination.name"] = job.queue
                    attributes["fleet.job.name"] = job.name
                }
            }
            let row = try await db.first(
                """
                INSERT INTO jobs (queue, name, payload, state, priority, run_at, max_attempts, unique_key, created_at, trace_parent, trace_state)
                VALUES (\(bind: job.queue), \(bind: job.name), \(bind: job.payload), 'available', \(bind: job.priority),
                        \(bind: job.runAt ?? now), \(bind: job.maxAttempts), \(bind: job.uniqueKey), \(bind: now),
                        \(bind: trace.parent), \(bind: trace.state))
                ON CONFLICT DO NOTHING RETURNING id
                """
            )
            guard let id = try row?.decode(at: 0, as: Int64.self) else { return nil }
            span.attributes["messaging.message.id"] = String(id)
            if db.dialect == .postgres, (job.runAt ?? now) <= now {
                // Delivered at commit, to every worker listening: a hint that saves a poll.
                try await db.execute("SELECT pg_notify(\(bind: Self.channel), \(bind: job.queue))")
            }
            return id
        }
    }

    /// The notification channel of ready jobs; the payload is the queue's name.
    public static let channel = "fleet_jobs"

    /// Leases up to `limit` ready jobs of `queue` (lowest priority number first, then the
    /// earliest) until `now + lease`, in one statement. On PostgreSQL, rows another worker
    /// is claiming are skipped, not waited for. The jobs of one claim share a fresh token:
    /// a fence names the job's id and the token, and no other claim has that token.
    public func claim(queue: String, limit: Int, lease: Duration, now: Int64, in database: some Database) async throws -> [ClaimedJob] {
        let expires = now + lease.inMicroseconds
        let token = UUID().uuidString
        return try await database.transaction { db in
            let skipLocked = db.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            return try await db.query(
                """
                UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_token = \(bind: token), lease_expires_at = \(bind: expires)
                WHERE id IN (
                    SELECT id FROM jobs WHERE queue = \(bind: queue) AND state = 'available' AND run_at <= \(bind: now)
                    ORDER BY priority, run_at, id LIMIT \(bind: limit)\(unsafeSQL: skipLocked)
                )
                RETURNING id, queue, name, payload, attempt, max_attempts, run_at, priority, trace_parent, trace_state
                """
            ).map { job in
                (
                    priority: try job.decode(at: 7, as: Int.self),
                    job: ClaimedJob(
                        id: try job.decode(at: 0), queue: try job.decode(at: 1), name: try job.decode(at: 2), payload: try job.decode(at: 3),
                        attempt: try job.decode(at: 4), maxAttempts: try job.decode(at: 5), runAt: try job.decode(at: 6), lease: token,
                        trace: JobTraceContext(parent: try job.decode(at: 8), state: try job.decode(at: 9))
                    )
                )
            }
            .sorted { ($0.priority, $0.job.runAt, $0.job.id) < ($1.priority, $1.job.runAt, $1.job.id) }
            .map(\.job)
        }
    }

    /// Marks a job done.
    public func complete(_ job: ClaimedJob, now: Int64, in database: some Database) async throws {
        try await fenced(job, in: database) {
            "UPDATE jobs SET state = 'completed', finished_at = \(bind: now), lease_token = NULL, lease_expires_at = NULL WHERE id = \(bind: job.id) AND lease_token = \(bind: job.lease) RETURNING id"
        }
    }

    /// Records a failed run: the job runs again after the policy's delay, or is dead.
    @discardableResult
    public func fail(
        _ job: ClaimedJob, error: String, policy: RetryPolicy, random: Double = .random(in: 0..<1), now: Int64, in database: some Database
    ) async throws -> RetryPolicy.Decision {
        var limited = policy
        limited.maxAttempts = job.maxAttempts
        let decision = limited.afterFailure(attempt: job.attempt, random: random)
        switch decision {
        case .dead:
            try await fenced(job, in: database) {
                """
                UPDATE jobs SET state = 'dead', last_error = \(bind: error), finished_at = \(bind: now), lease_token = NULL, lease_expires_at = NULL
                WHERE id = \(bind: job.id) AND lease_token = \(bind: job.lease) RETURNING id
                """
            }
        case .retry(let delay):
            try await fenced(job, in: database) {
                """
                UPDATE jobs SET state = 'available', last_error = \(bind: error), run_at = \(bind: now + delay.inMicroseconds), lease_token = NULL, lease_expires_at = NULL
                WHERE id = \(bind: job.id) AND lease_token = \(bind: job.lease) RETURNING id
                """
            }
        }
        return decision
    }

    /// Puts a job back to run at `now + delay` without spending an attempt.
    public func snooze(_ job: ClaimedJob, for delay: Duration, now: Int64, in database: some Database) async throws {
        try await fenced(job, in: database) {
            """
            UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at = \(bind: now + delay.inMicroseconds), lease_token = NULL, lease_expires_at = NULL
            WHERE id = \(bind: job.id) AND lease_token = \(bind: job.lease) RETURNING id
            """
        }
    }

    /// Extends a running job's lease (the heartbeat while its handler runs).
    public func renew(_ job: ClaimedJob, lease: Duration, now: Int64, in database: some Database) async throws {
        try await fenced(job, in: database) {
            "UPDATE jobs SET lease_expires_at = \(bind: now + lease.inMicroseconds) WHERE id = \(bind: job.id) AND lease_token = \(bind: job.lease) RETURNING id"
        }
    }

    /// Puts back every running job whose lease expired before `now` (its worker stopped
    /// renewing it): available at once, its token void. A job that has used all its
    /// attempts this way is dead instead, so one that kills its worker every time (a
    /// poison pill) does not take every worker down in turn forever. Returns how many.
    @discardableResult
    public func releaseExpiredLeases(now: Int64, in database: some Database) async throws -> Int {
        try await database.transaction { db in
            try await db.query(
                """
                UPDATE jobs SET state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'available' END,
                    finished_at = CASE WHEN attempt >= max_attempts THEN \(bind: now) END,
                    run_at = \(bind: now), lease_token = NULL, lease_expires_at = NULL, last_error = 'lease expired'
                WHERE state = 'running' AND lease_expires_at < \(bind: now) RETURNING id
                """
            ).count
        }
    }

    /// Runs a fenced update; throws `leaseLost` when it changed no row.
    private func fenced(_ job: ClaimedJob, in database: some Database, _ statement: @escaping @Sendable () -> SQLQuery) async throws {
        let changed = try await database.transaction { db in try await db.first(statement()) != nil }
        if !changed { throw JobError(code: .leaseLost, job: job.id) }
    }
}
