public import FleetData

/// One queue's figures at a moment: what autoscaling, alerts and operators read.
public struct QueueStats: Sendable, Equatable {
    public var queue: String
    /// Available and due now.
    public var ready = 0
    /// Available, due later (delayed jobs, retries waiting out their backoff).
    public var scheduled = 0
    public var running = 0
    public var dead = 0
    /// When the longest-waiting ready job became due (microseconds since 1970), if any.
    public var oldestReadyAt: Int64?

    public init(queue: String) { self.queue = queue }

    /// How long the oldest ready job has waited at `now`, in seconds (0 when none waits).
    public func oldestReadyAge(now: Int64) -> Double {
        oldestReadyAt.map { Double(max(0, now - $0)) / 1_000_000 } ?? 0
    }
}

/// A dead job, as operators list it.
public struct DeadJob: Sendable, Equatable {
    public var id: Int64
    public var queue: String
    public var name: String
    public var attempt: Int
    public var lastError: String?
    public var finishedAt: Int64
    public var payload: String
}

extension JobStore {
    /// Every queue's figures in this database. Each count reads its own partial index, so
    /// the cost follows the jobs waiting, running or dead, not the completed ones.
    public func stats(now: Int64, in database: some Database) async throws -> [QueueStats] {
        try await database.readLatest { db in
            var byQueue: [String: QueueStats] = [:]
            func update(_ queue: String, _ change: (inout QueueStats) -> Void) {
                change(&byQueue[queue, default: QueueStats(queue: queue)])
            }
            for row in try await db.query(
                """
                SELECT queue, SUM(CASE WHEN run_at <= \(bind: now) THEN 1 ELSE 0 END), SUM(CASE WHEN run_at > \(bind: now) THEN 1 ELSE 0 END),
                    MIN(CASE WHEN run_at <= \(bind: now) THEN run_at END)
                FROM jobs WHERE state = 'available' GROUP BY queue
                """
            ) {
                let ready: Int64 = try row.decode(at: 1)
                let scheduled: Int64 = try row.decode(at: 2)
                let oldest: Int64? = try row.decode(at: 3)
                update(try row.decode(at: 0)) {
                    $0.ready = Int(ready)
                    $0.scheduled = Int(scheduled)
                    $0.oldestReadyAt = oldest
                }
            }
            for (state, path) in [("running", \QueueStats.running), ("dead", \QueueStats.dead)] as [(String, WritableKeyPath<QueueStats, Int>)] {
                for row in try await db.query("SELECT queue, COUNT(*) FROM jobs WHERE state = \(bind: state) GROUP BY queue") {
                    let count: Int64 = try row.decode(at: 1)
                    update(try row.decode(at: 0)) { $0[keyPath: path] = Int(count) }
                }
            }
            return byQueue.values.sorted { $0.queue < $1.queue }
        }
    }

    /// Dead jobs, the latest first.
    public func dead(limit: Int, in database: some Database) async throws -> [DeadJob] {
        try await database.readLatest { db in
            try await db.query(
                """
                SELECT id, queue, name, attempt, last_error, finished_at, payload FROM jobs WHERE state = 'dead'
                ORDER BY finished_at DESC, id DESC LIMIT \(bind: limit)
                """
            ).map { row in
                DeadJob(
                    id: try row.decode(at: 0), queue: try row.decode(at: 1), name: try row.decode(at: 2), attempt: try row.decode(at: 3),
                    lastError: try row.decode(at: 4), finishedAt: try row.decode(at: 5), payload: try row.decode(at: 6)
                )
            }
        }
    }

    /// Makes a dead job (or one waiting for its retry) ready now with its attempts
    /// renewed. Throws `notFound` for a job that is running, completed or unknown.
    public func retry(_ id: Int64, now: Int64, in database: some Database) async throws {
        let changed = try await database.transaction { db in
            try await db.first(
                """
                UPDATE jobs SET state = 'available', run_at = \(bind: now), attempt = 0, finished_at = NULL
                WHERE id = \(bind: id) AND state IN ('dead', 'available') RETURNING id
                """
            ) != nil
        }
        if !changed { throw JobError(code: .notFound, job: id, detail: "only dead or waiting jobs can be retried") }
    }

    /// Deletes a dead or waiting job. Throws `notFound` for a running, completed or
    /// unknown one (a running job belongs to its worker until it finishes).
    public func discard(_ id: Int64, in database: some Database) async throws {
        let changed = try await database.transaction { db in
            try await db.first("DELETE FROM jobs WHERE id = \(bind: id) AND state IN ('dead', 'available') RETURNING id") != nil
        }
        if !changed { throw JobError(code: .notFound, job: id, detail: "only dead or waiting jobs can be discarded") }
    }

    /// Marks completed the jobs that their producer carried out itself right after commit
    /// (the jobs being the guarantee if it could not), in one statement, except those a
    /// worker has claimed meanwhile. Returns how many it marked.
    @discardableResult
    public func completeUnclaimed(_ ids: [Int64], now: Int64, in database: some Database) async throws -> Int {
        try await updateUnclaimed(ids, set: "state = 'completed', finished_at = \(bind: now)", in: database)
    }

    /// Makes due now the jobs that their producer meant to carry out itself (they were due
    /// after a grace) and could not, in one statement, except those a worker has claimed
    /// meanwhile. Returns how many it moved.
    @discardableResult
    public func makeDue(_ ids: [Int64], now: Int64, in database: some Database) async throws -> Int {
        try await updateUnclaimed(ids, set: "run_at = \(bind: now)", in: database)
    }

    private func updateUnclaimed(_ ids: [Int64], set assignments: SQLQuery, in database: some Database) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await database.transaction { db in
            try await db.query("UPDATE jobs SET \(assignments) WHERE id IN (\(binds: ids)) AND state = 'available' RETURNING id").count
        }
    }

    /// Deletes up to `limit` jobs that finished in `state` (completed or dead) before
    /// `before`, oldest first, in one short transaction. Returns how many; a caller deletes
    /// batch after batch until fewer than `limit` come back.
    public func deleteFinished(_ state: JobState, before: Int64, limit: Int, in database: some Database) async throws -> Int {
        try await database.transaction { db in
            try await db.query(
                """
                DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs WHERE state = \(bind: state.rawValue) AND finished_at < \(bind: before) ORDER BY finished_at LIMIT \(bind: limit)
                ) RETURNING id
                """
            ).count
        }
    }
}
