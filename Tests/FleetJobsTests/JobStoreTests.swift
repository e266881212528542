import FleetData
import FleetJobs
import FleetTestSupport
import Foundation
import Logging
import Testing

/// The jobs table, schema applied, on a fresh database: a new database on the PostgreSQL
/// server `FLEET_TEST_POSTGRES_URL` names, else a new SQLite file (the embedded default).
func withJobs<T: Sendable>(_ body: @Sendable (any Database) async throws -> T) async throws -> T {
    if let admin = TestPostgres.adminURL {
        let database = PostgresDatabase(try PostgresDatabase.Configuration(url: try await TestPostgres.createDatabase(admin: admin)), logger: Logger(label: "test"))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await database.run(); return nil }
            defer { group.cancelAll() }
            try await createJobsTable(in: database)
            return try await body(database)
        }
    }
    return try await withTemporarySQLite { database in
        try await createJobsTable(in: database)
        return try await body(database)
    }
}

func createJobsTable(in database: some Database) async throws {
    try await database.transaction { db in
        for statement in JobSchema.current(db.dialect) { try await db.execute(statement) }
    }
}

@Suite struct JobStoreTests {
    let store = JobStore()
    let second: Int64 = 1_000_000

    func state(of id: Int64, in database: some Database) async throws -> (state: String, attempt: Int, error: String?) {
        let row = try #require(try await database.read { try await $0.first("SELECT state, attempt, last_error FROM jobs WHERE id = \(bind: id)") })
        return (try row.decode(at: 0), try row.decode(at: 1), try row.decode(at: 2))
    }

    @Test func aJobCommitsOrRollsBackWithTheChangeThatMadeIt() async throws {
        try await withJobs { database in
            struct Abort: Error {}
            _ = try? await database.transaction { db in
                try await store.enqueue(NewJob(name: "mail", payload: "{}"), now: 0, in: db)
                throw Abort()
            }
            #expect(try await store.claim(queue: "default", limit: 10, lease: .seconds(30), now: 0, in: database).isEmpty)
            let id = try await database.transaction { db in try await store.enqueue(NewJob(name: "mail", payload: #"{"to":"a"}"#), now: 0, in: db) }
            let claimed = try await store.claim(queue: "default", limit: 10, lease: .seconds(30), now: 0, in: database)
            #expect(claimed.map(\.id) == [try #require(id)])
            #expect(claimed.first?.payload == #"{"to":"a"}"# && claimed.first?.attempt == 1)
        }
    }

    @Test func readyJobsAreTakenByPriorityThenTimeAndNotBeforeTheirTime() async throws {
        try await withJobs { database in
            let ids = try await database.transaction { db in
                [
                    try await store.enqueue(NewJob(name: "late", payload: "{}", runAt: 10 * second), now: 0, in: db),
                    try await store.enqueue(NewJob(name: "low", payload: "{}", priority: 5), now: 0, in: db),
                    try await store.enqueue(NewJob(name: "urgent", payload: "{}", priority: 0), now: 1, in: db),
                    try await store.enqueue(NewJob(queue: "mail", name: "other queue", payload: "{}"), now: 0, in: db),
                ]
            }
            #expect(ids.allSatisfy { $0 != nil })
            let first = try await store.claim(queue: "default", limit: 10, lease: .seconds(30), now: 2, in: database)
            #expect(first.map(\.name) == ["urgent", "low"])
            let later = try await store.claim(queue: "default", limit: 10, lease: .seconds(30), now: 10 * second, in: database)
            #expect(later.map(\.name) == ["late"])
        }
    }

    @Test func aWorkerThatLostItsLeaseCannotTouchTheJob() async throws {
        try await withJobs { database in
            _ = try await database.transaction { db in try await store.enqueue(NewJob(name: "slow", payload: "{}"), now: 0, in: db) }
            let stale = try #require(try await store.claim(queue: "default", limit: 1, lease: .seconds(30), now: 0, in: database).first)
            // The worker stops renewing (paused, partitioned); its lease expires and the job goes back.
            #expect(try await store.releaseExpiredLeases(now: 31 * second, in: database) == 1)
            let current = try #require(try await store.claim(queue: "default", limit: 1, lease: .seconds(30), now: 31 * second, in: database).first)
            #expect(current.id == stale.id && current.attempt == 2 && current.lease != stale.lease)
            // The first worker wakes up: every change it tries is refused.
            await #expect(throws: JobError(code: .leaseLost, job: stale.id)) { try await store.complete(stale, now: 32 * second, in: database) }
            await #expect(throws: JobError(code: .leaseLost, job: stale.id)) {
                try await store.fail(stale, error: "late", policy: RetryPolicy(), now: 32 * second, in: database)
            }
            await #expect(throws: JobError(code: .leaseLost, job: stale.id)) { try await store.renew(stale, lease: .seconds(30), now: 32 * second, in: database) }
            await #expect(throws: JobError(code: .leaseLost, job: stale.id)) { try await store.snooze(stale, for: .seconds(1), now: 32 * second, in: database) }
            #expect(try await state(of: stale.id, in: database).state == "running")
            // The holder completes it, once.
            try await store.complete(current, now: 33 * second, in: database)
            #expect(try await state(of: current.id, in: database).state == "completed")
            await #expect(throws: JobError.self) { try await store.complete(current, now: 34 * second, in: database) }
        }
    }

    @Test func aRenewedLeaseIsNotReleased() async throws {
        try await withJobs { database in
            _ = try await database.transaction { db in try await store.enqueue(NewJob(name: "long", payload: "{}"), now: 0, in: db) }
            let job = try #require(try await store.claim(queue: "default", limit: 1, lease: .seconds(30), now: 0, in: database).first)
            try await store.renew(job, lease: .seconds(30), now: 25 * second, in: database)
            #expect(try await store.releaseExpiredLeases(now: 40 * second, in: database) == 0)
            #expect(try await store.releaseExpiredLeases(now: 56 * second, in: database) == 1)
        }
    }

    @Test func failuresRetryWithBackoffThenDie() async throws {
        try await withJobs { database in
            let id = try #require(try await database.transaction { db in
                try await store.enqueue(NewJob(name: "flaky", payload: "{}", maxAttempts: 3), now: 0, in: db)
            })
            let policy = RetryPolicy(maxAttempts: 100, base: .seconds(10), cap: .seconds(60))
            var now: Int64 = 0
            for attempt in 1...3 {
                let job = try #require(try await store.claim(queue: "default", limit: 1, lease: .seconds(30), now: now, in: database).first)
                #expect(job.attempt == attempt && job.maxAttempts == 3)
                // Full jitter at its top: the retry waits the whole bound, and not a microsecond less.
                try await store.fail(job, error: "boom \(attempt)", policy: policy, random: 1, now: now, in: database)
                let wait = policy.bound(attempt: attempt).inMicroseconds
                if attempt < 3 {
                    #expect(try await store.claim(queue: "default", limit: 1, lease: .seconds(30), now: now + wait - 1, in: database).isEmpty)
                    now += wait
                }
            }
            // The job's own most-attempts (3) wins over the policy's (100).
            let dead = try await state(of: id, in: database)
            #expect(dead.state == "dead" && dead.attempt == 3 && dead.error == "boom 3")
            #expect(try await store.claim(queue: "default", limit: 1, lease: .seconds(30), now: now + 3600 * second, in: database).isEmpty)
        }
    }

    @Test func aSnoozeSpendsNoAttempt() async throws {
        try await withJobs { database in
            let id = try #require(try await database.transaction { db in
                try await store.enqueue(NewJob(name: "wait", payload: "{}", maxAttempts: 1), now: 0, in: db)
            })
            for round in 0..<3 {
                let job = try #require(try await store.claim(queue: "default", limit: 1, lease: .seconds(30), now: Int64(round) * 5 * second, in: database).first)
                #expect(job.attempt == 1)
                try await store.snooze(job, for: .seconds(5), now: Int64(round) * 5 * second, in: database)
            }
            #expect(try await state(of: id, in: database).state == "available")
        }
    }

    /// Unique while available or running; a completed or dead job no longer blocks its key.
    @Test func aUniqueKeyIsEnqueuedOnceWhilePendingOrRunning() async throws {
        try await withJobs { database in
            func enqueue(at now: Int64) async throws -> Int64? {
                try await database.transaction { db in try await store.enqueue(NewJob(name: "digest", payload: "{}", uniqueKey: "digest:ann"), now: now, in: db) }
            }
            let first = try #require(try await enqueue(at: 0))
            #expect(try await enqueue(at: 1) == nil, "pending")
            let job = try #require(try await store.claim(queue: "default", limit: 1, lease: .seconds(30), now: 2, in: database).first)
            #expect(job.id == first)
            #expect(try await enqueue(at: 3) == nil, "running")
            try await store.complete(job, now: 4, in: database)
            let again = try await enqueue(at: 5)
            #expect(again != nil && again != first, "completed jobs do not block their key")
        }
    }

    /// Workers claiming at once (SKIP LOCKED on PostgreSQL, one writer on SQLite): each job
    /// is taken by exactly one of them.
    @Test func concurrentClaimersNeverShareAJob() async throws {
        try await withJobs { database in
            let jobs = 200
            try await database.transaction { db in
                for index in 0..<jobs { try await store.enqueue(NewJob(name: "n\(index)", payload: "{}"), now: 0, in: db) }
            }
            let taken = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        var mine: [Int64] = []
                        while true {
                            let batch = try await store.claim(queue: "default", limit: 5, lease: .seconds(30), now: 1, in: database)
                            if batch.isEmpty { return mine }
                            for job in batch { try await store.complete(job, now: 2, in: database) }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(taken.count == jobs && Set(taken).count == jobs)
            let states = try await database.read { try await $0.query("SELECT state, COUNT(*) FROM jobs GROUP BY state") }
            let only = try states.first?.decode(at: 0, as: String.self)
            #expect(states.count == 1 && only == "completed")
        }
    }
}
