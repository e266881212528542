@testable import FleetData
import FleetTestSupport
import Foundation
import Logging
import Testing

/// A fresh database file in a temporary folder, removed afterwards.
func withTemporaryDatabase<T>(readers: Int = 4, _ body: (SQLiteDatabase) async throws -> T) async throws -> T {
    try await withTemporarySQLite(readers: readers, body)
}

@Suite struct SQLiteDatabaseTests {
    @Test func concurrentTransactionsAllLandWithoutLocking() async throws {
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            try await db.transaction { try await $0.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)") }
            try await db.transaction { try await $0.execute("INSERT INTO c (id, n) VALUES (1, 0)") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        if i % 2 == 0 {
                            try await db.transaction { tx in
                                let n: Int = try await tx.first("SELECT n FROM c WHERE id = 1")?.decode("n") ?? -1
                                try await tx.execute("UPDATE c SET n = \(bind: n + 1) WHERE id = 1")
                            }
                        } else {
                            _ = try await db.read { try await $0.first("SELECT n FROM c") }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total: Int = try await db.read { try await $0.first("SELECT n FROM c WHERE id = 1")?.decode("n") ?? 0 }
            #expect(total == 100)
        }
    }

    @Test func failedTransactionRollsBack() async throws {
        struct Boom: Error {}
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            try await db.transaction { try await $0.execute("CREATE TABLE t (v TEXT)") }
            await #expect(throws: Boom.self) {
                try await db.transaction { tx in
                    try await tx.execute("INSERT INTO t (v) VALUES (\(bind: "lost"))")
                    #expect(tx.canRollBack(after: Boom()))
                    throw Boom()
                }
            }
            let rows = try await db.read { try await $0.query("SELECT v FROM t") }
            #expect(rows.isEmpty)
            // SQLite ends a transaction itself when some statements fail in it (an
            // interrupted write rolls it back whole): then there is nothing to roll back,
            // and trying only failed, and logged an error, under load.
            await #expect(throws: Boom.self) {
                try await db.transaction { tx in
                    try await tx.execute("INSERT INTO t (v) VALUES (\(bind: "also lost"))")
                    try await tx.execute("ROLLBACK")  // as an interruption does
                    #expect(!tx.canRollBack(after: Boom()))
                    throw Boom()
                }
            }
            // The writer is fine afterwards.
            try await db.transaction { try await $0.execute("INSERT INTO t (v) VALUES (\(bind: "kept"))") }
            #expect(try await db.read { try await $0.query("SELECT v FROM t") }.count == 1)
        }
    }

    @Test func uniqueViolationIsReportedAsSuch() async throws {
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            try await db.transaction { try await $0.execute("CREATE TABLE u (name TEXT PRIMARY KEY)") }
            try await db.transaction { try await $0.execute("INSERT INTO u (name) VALUES ('a')") }
            do {
                try await db.transaction { try await $0.execute("INSERT INTO u (name) VALUES ('a')") }
                Issue.record("duplicate accepted")
            } catch let error as DatabaseError where error.code == .uniqueViolation {
            }
        }
    }

    @Test func readersCannotWrite() async throws {
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            try await db.transaction { try await $0.execute("CREATE TABLE t (v INTEGER)") }
            await #expect(throws: DatabaseError.self) {
                try await db.read { try await $0.execute("INSERT INTO t (v) VALUES (1)") }
            }
        }
    }

    @Test func valuesRoundTrip() async throws {
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            let row = try await db.read { db in
                try await db.first("SELECT \(bind: Int64.max) AS big, \(bind: "héllo ✓") AS text, \(bind: 1.5) AS real, \(bind: Optional<Int>.none) AS absent")
            }
            #expect(try row?.decode("big", as: Int64.self) == .max)
            #expect(try row?.decode("text", as: String.self) == "héllo ✓")
            #expect(try row?.decode("real", as: Double.self) == 1.5)
            #expect(try row?.decode("absent", as: Int?.self) == nil)
            #expect(throws: SQLDecodingError.self) { try row?.decode("text", as: Int.self) }
            let nul = try await db.read { try await $0.first("SELECT \(bind: "a\u{0}b") AS t, \(bind: SQLValue.blob([0, 1, 255])) AS b") }
            #expect(try nul?.decode("t", as: String.self) == "a\u{0}b")
            #expect(try nul?.decode("b", as: SQLValue.self) == .blob([0, 1, 255]))
        }
    }

    @Test func manyDistinctStatementsOutgrowTheCacheSafely() async throws {
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            for count in 1...600 {
                let row = try await db.read { try await $0.first("SELECT \(bind: count) AS n WHERE 1 IN (\(binds: Array(1...count)))") }
                #expect(try row?.decode("n", as: Int.self) == count)
            }
        }
    }

    @Test func migrationsApplyOnceAndReportTheirVersion() async throws {
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            let migrator = Migrator([
                Migration(version: 1, name: "one") { _ in ["CREATE TABLE a (id INTEGER)"] },
                Migration(version: 2, name: "two") { dialect in ["CREATE TABLE b (id \(unsafeSQL: dialect.bigint))"] },
            ])
            #expect(try await migrator.currentVersion(db) == 0)
            #expect(await !migrator.isCurrent(db))
            #expect(try await migrator.migrate(db, logger: Logger(label: "test")) == [1, 2])
            #expect(try await migrator.migrate(db, logger: Logger(label: "test")) == [])
            #expect(try await migrator.currentVersion(db) == 2)
            #expect(await migrator.isCurrent(db))
        }
    }

    @Test func instrumentationCountsRoundTrips() async throws {
        try await withTemporaryDatabase { (sqlite: SQLiteDatabase) async throws in
            let db = InstrumentedDatabase(sqlite, system: "sqlite")
            let (_, reads) = try await QueryCount.measure {
                try await db.read { db in
                    try await db.query("SELECT 1")
                    try await db.query("SELECT 2")
                }
            }
            #expect(reads == 2)
            let (_, writes) = try await QueryCount.measure { try await db.transaction { try await $0.execute("SELECT 3") } }
            #expect(writes == 3)  // BEGIN + statement + COMMIT
            // Work outside a measurement is not counted in one.
            let (_, nothing) = await QueryCount.measure {}
            _ = try await db.read { try await $0.query("SELECT 4") }
            #expect(nothing == 0)
        }
    }
}

@Suite struct AsyncPoolTests {
    @Test func waitersAreServedAndTimeOut() async throws {
        let pool = AsyncPool([1])
        _ = try await pool.withResource(timeout: .seconds(1)) { _ in
            await #expect(throws: DatabaseError.acquireTimeout) {
                try await pool.withResource(timeout: .milliseconds(50)) { _ in }
            }
        }
        // Freed again: the next caller gets it at once.
        #expect(try await pool.withResource(timeout: .milliseconds(50)) { $0 } == 1)
    }

    /// With `run()` timing waits out (one loop, no timer per waiter): each waiter fails at
    /// its own deadline, the earliest first whatever the order they came in, and a waiter
    /// given the resource in time is not failed later.
    @Test(.timeLimit(.minutes(1))) func aRunningPoolTimesWaitersOutByTheirDeadlines() async throws {
        let pool = AsyncPool([1])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pool.run() }
            defer { group.cancelAll() }
            while !pool.isWatched { try await Task.sleep(for: .milliseconds(10)) }
            // Bounds loose enough for a busy machine: what matters is that the shorter wait,
            // queued second, ends long before the longer one.
            try await pool.withResource(timeout: .seconds(30)) { _ in
                async let long: Duration = Self.timedOut(pool, after: .seconds(5))
                try await Task.sleep(for: .milliseconds(50))
                async let short: Duration = Self.timedOut(pool, after: .milliseconds(100))
                let shortWaited = try await short
                #expect(shortWaited >= .milliseconds(100) && shortWaited < .seconds(4), "the later, shorter wait did not wait behind the longer one: \(shortWaited)")
                let longWaited = try await long
                #expect(longWaited >= .seconds(5) && longWaited < .seconds(15), "\(longWaited)")
            }
            // A waiter that gets the resource before its deadline keeps it, and the loop's
            // wake-up at that deadline finds nothing left to fail.
            try await withThrowingTaskGroup(of: Int.self) { waiters in
                try await pool.withResource(timeout: .seconds(1)) { _ in
                    waiters.addTask { try await pool.withResource(timeout: .seconds(3)) { $0 } }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await waiters.next() == 1)
            }
            try await Task.sleep(for: .seconds(3.5))
            #expect(try await pool.withResource(timeout: .milliseconds(50)) { $0 } == 1)
        }
    }

    /// How long a wait for the pool took to fail with a timeout (or an error if it did not).
    static func timedOut(_ pool: AsyncPool<Int>, after timeout: Duration) async throws -> Duration {
        let started = ContinuousClock.now
        do {
            _ = try await pool.withResource(timeout: timeout) { $0 }
        } catch let error as DatabaseError where error == .acquireTimeout {
            return ContinuousClock.now - started
        }
        throw DatabaseError.failed("the wait was served, not timed out")
    }

    @Test func closedPoolFailsWaiters() async throws {
        let pool = AsyncPool([1])
        _ = pool.close()
        await #expect(throws: DatabaseError.self) { try await pool.withResource(timeout: .seconds(1)) { _ in } }
    }
}

/// Calls that outlast the inline budget are stopped and run again on their connection's
/// own thread: the answer is the same, and nothing is done twice.
@Suite struct SQLiteEscalationTests {
    static let slow: SQLQuery = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT COUNT(*) AS n FROM c"

    @Test func aSlowReadIsAnsweredInFull() async throws {
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            let count = try await db.read { try await $0.first(Self.slow)?.decode("n", as: Int.self) }
            #expect(count == 1_000_000)
            // A body that swallows the interruption does not get its partial answer used.
            let swallowed = try await db.read { db in try (try? await db.first(Self.slow))?.decode("n", as: Int.self) ?? -1 }
            #expect(swallowed == 1_000_000)
        }
    }

    @Test func aSlowTransactionIsCommittedOnce() async throws {
        try await withTemporaryDatabase { (db: SQLiteDatabase) async throws in
            try await db.transaction { try await $0.execute("CREATE TABLE t (n INTEGER NOT NULL)") }
            try await db.transaction { db in
                try await db.execute("INSERT INTO t (n) VALUES (1)")
                _ = try? await db.query(Self.slow)  // interrupted inline, and swallowed
            }
            try await db.transaction { db in
                try await db.execute("INSERT INTO t (n) VALUES (2)")
                try await db.execute(Self.slow)
            }
            let rows = try await db.read { try await $0.query("SELECT n FROM t ORDER BY n").map { try $0.decode("n", as: Int.self) } }
            #expect(rows == [1, 2])
            // The writer is free again afterwards.
            try await db.transaction { try await $0.execute("INSERT INTO t (n) VALUES (3)") }
        }
    }
}
