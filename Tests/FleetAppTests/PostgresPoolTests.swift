import FleetData
import FleetTestSupport
import Foundation
import Logging
import Testing

/// PostgreSQL's pool under pressure: a request that cannot get a connection in time fails
/// with a clear error (503 to clients) instead of waiting forever.
/// One test at a time: both time what they wait for, and the second starts, crashes and
/// restarts a server of its own, which is heavy work on two cores.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["FLEET_TEST_POSTGRES_URL"] != nil, "needs PostgreSQL"), .serialized)
struct PostgresPoolTests {
    @Test func aRequestThatCannotGetAConnectionInTimeFails() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["FLEET_TEST_POSTGRES_URL"])
        var configuration = try PostgresDatabase.Configuration(url: url)
        configuration.maximumConnections = 1
        configuration.acquireTimeout = .milliseconds(200)
        let database = PostgresDatabase(configuration, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.run() }
            defer { group.cancelAll() }
            // The pool's one connection, opened first (on a busy machine, connecting alone
            // can take longer than the acquire timeout under test).
            for attempt in 1...50 {
                do {
                    _ = try await database.read { try await $0.first("SELECT 1") }
                    break
                } catch let error as DatabaseError where error == .acquireTimeout && attempt < 50 {
                    continue
                }
            }
            // The holder keeps it for three seconds: the waiting read fails well before
            // (the margin is for a busy machine), not when the connection comes back.
            async let holder: Void = database.read { try await $0.execute("SELECT pg_sleep(3)") }
            try await Task.sleep(for: .milliseconds(100))
            let start = ContinuousClock.now
            await #expect(throws: DatabaseError.acquireTimeout) {
                try await database.read { try await $0.first("SELECT 1") }
            }
            #expect(ContinuousClock.now - start < .milliseconds(2500))
            try await holder
            // The pool is fine afterwards.
            #expect(try await database.read { try await $0.first("SELECT 2 AS v")?.decode("v", as: Int.self) } == 2)
        }
    }

    /// A server that crashes under a transaction: the caller hears of it at once, not at
    /// the statement timeout. ROLLBACK is not sent on the dead connection: a crashed
    /// primary left such ROLLBACKs without an answer for the whole timeout (the T3
    /// failover's writes unanswered for 10 s).
    @Test func aTransactionWhoseServerCrashesFailsAtOnce() async throws {
        // Starting, crashing and restarting a server block until done: on threads of their
        // own, so as to not hold the cooperative ones that other tests' timers need.
        let server = try await onOwnThread { try PostgresServerProcess() }
        var configuration = try PostgresDatabase.Configuration(url: server.url)
        configuration.statementTimeout = .seconds(60)
        let database = PostgresDatabase(configuration, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.run() }
            defer { group.cancelAll() }
            for round in 1...3 {
                if round > 1 { try await onOwnThread { try server.restart() } }
                async let crashed: ContinuousClock.Instant = {
                    // Once the statement runs on the server: on a busy machine, getting a
                    // connection and sending it can take longer than any fixed pause.
                    for _ in 0..<1_200 {
                        let running = try? await database.read {
                            try await $0.first("SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%'")?
                                .decode("n", as: Int.self)
                        }
                        if let running, running > 0 { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    try await onOwnThread { try server.crash() }
                    return ContinuousClock.now
                }()
                let error = await #expect(throws: DatabaseError.self) {
                    try await database.transaction { try await $0.execute("SELECT pg_sleep(30)") }
                }
                let answered = ContinuousClock.now
                #expect(error?.isUnavailable == true, "\(String(describing: error))")
                // Seconds on the busiest machine; the statement timeout is a minute.
                #expect(answered - (try await crashed) < .seconds(15), "round \(round): \(String(describing: error))")
            }
        }
    }
}
