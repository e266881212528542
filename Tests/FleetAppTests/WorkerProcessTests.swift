import FleetData
import FleetTestSupport
import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real binary in its two roles on PostgreSQL: API instances that only produce jobs
/// (`fleet serve --workers none`) and `fleet worker` processes that consume them, with
/// workers frozen (SIGSTOP), killed (SIGKILL), stopped (SIGTERM) and the database restarted
/// under them. The jobs are welcome e-mails to a real, slow SMTP server (each message is
/// answered four seconds after it is stored), so jobs are caught mid-run; a message sent
/// twice has the same Message-ID, which a receiver drops: "once in effect" is one distinct
/// Message-ID per user, and each job row completed once.
@Suite(.enabled(if: TestPostgres.adminURL != nil && SMTPServerProcess.enabled, "needs PostgreSQL and aiosmtpd"))
struct WorkerProcessTests {
    @Test func apiAndWorkersScaleSeparatelyAndSurviveTheirFailures() async throws {
        let postgres = try await onOwnThread { try PostgresServerProcess() }
        let smtp = try await SMTPServerProcess(delay: 4)
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-workers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let common = [
            "--database-url", postgres.url, "--mail-smtp-url", smtp.url, "--jobs-lease-seconds", "3", "--jobs-grace-seconds", "1",
            "--jobs-poll-ms", "200", "--auth-jwt-secret", String(repeating: "k", count: 32),
        ]
        var started: [FleetServer] = []
        defer { for server in started { server.stop() } }
        func start(_ role: String, _ name: String, _ extra: [String] = []) async throws -> FleetServer {
            let server = try await FleetServer.start(role, dataDirectory: data.appendingPathComponent(name), bcryptCost: 4, settings: common + extra)
            started.append(server)
            return server
        }
        var users = 0
        /// Signs a user up through `api` (retrying while the database restarts).
        func signUp(_ api: FleetServer) async throws {
            users += 1
            let json = #"{"user":{"username":"user\#(users)","email":"user\#(users)@example.com","password":"password123"}}"#
            for _ in 0..<100 {
                if (try? await FleetServer.request(port: api.port, "/api/users", json: json))?.head.status == .created { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("sign-up \(users) failed")
        }
        func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline {
                if (try? await condition()) == true { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return try await condition()
        }
        let database = PostgresDatabase(try PostgresDatabase.Configuration(url: postgres.url), logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.run() }
            defer { group.cancelAll() }
            func count(_ state: String) async throws -> Int {
                try await database.read { try await $0.first("SELECT COUNT(*) FROM jobs WHERE queue = 'mail' AND state = \(bind: state)")?.decode(at: 0) ?? 0 }
            }
            func running() async throws -> Int { try await count("running") }
            /// Every mail job, for failure messages.
            func dump() async -> String {
                let rows = try? await database.read { db in
                    try await db.query("SELECT id, state, attempt, last_error FROM jobs WHERE queue = 'mail' ORDER BY id").map {
                        "\(try $0.decode(at: 0, as: Int64.self)) \(try $0.decode(at: 1, as: String.self)) \(try $0.decode(at: 2, as: Int.self)) \(try $0.decode(at: 3, as: String?.self) ?? "")"
                    }
                }
                return (rows ?? []).joined(separator: "\n")
            }
            /// Records an issue with every mail job's state unless `condition` comes true.
            func expectCompleted(_ jobs: Int, within seconds: Double = 30) async throws {
                if try await !eventually(seconds, { try await count("completed") == jobs }) {
                    Issue.record("expected \(jobs) completed mail jobs:\n\(await dump())")
                }
            }

            // Two API instances produce, two workers consume.
            let a = try await start("serve", "a", ["--workers", "none"])
            let b = try await start("serve", "b", ["--workers", "none"])
            let w1 = try await start("worker", "w1", ["--concurrency", "2"])
            let w2 = try await start("worker", "w2", ["--concurrency", "2"])
            for index in 0..<8 { try await signUp(index.isMultiple(of: 2) ? a : b) }
            #expect(try await eventually { smtp.messageIDs().count == 8 })
            #expect(smtp.messages().count == 8)
            for worker in [w1, w2] {
                #expect(try await worker.metrics().contains(#"fleet_job_outcome="completed""#), "each worker ran jobs")
            }

            // SIGTERM with nothing running: the worker exits cleanly.
            w2.signal(SIGTERM)
            #expect(try await w2.waitForExit(timeout: .seconds(20)) == 0)

            // SIGSTOP mid-job: the lease expires, another worker runs the job; the frozen
            // one, resumed, finds its lease gone and cannot complete it.
            // (Whether both jobs ever run at once depends on how fast the sign-ups come on a
            // busy machine: one caught mid-run is what counts.)
            try await signUp(a)
            try await signUp(b)
            #expect(try await eventually { try await running() >= 1 })
            w1.signal(SIGSTOP)
            let w3 = try await start("worker", "w3")
            // Completed while the first is frozen: by the other worker.
            try await expectCompleted(10)
            #expect(smtp.messageIDs().count == 10)
            w1.signal(SIGCONT)
            #expect(
                try await eventually { try await w1.metrics().contains(#"fleet_job_outcome="lease_lost""#) },
                "\((try? String(contentsOf: w1.log, encoding: .utf8)) ?? "")"
            )

            // SIGKILL mid-job: the job comes back after its lease and runs once in effect.
            try await signUp(a)
            #expect(try await eventually { try await running() == 1 })
            w1.signal(SIGKILL)
            w3.signal(SIGKILL)
            let w4 = try await start("worker", "w4")
            try await expectCompleted(11)
            #expect(smtp.messageIDs().count == 11)

            // PostgreSQL restarted under a running worker: the job committed just before is
            // not lost, and the worker goes on (reconnecting, listening again).
            try await signUp(b)
            try await onOwnThread { try postgres.restart() }
            try await signUp(a)
            try await expectCompleted(13, within: 60)
            #expect(smtp.messageIDs().count == 13)

            // SIGTERM mid-job: grace of 1 s for a 4 s job, so its lease is released (the
            // attempt not spent) and the next worker runs it at once.
            try await signUp(b)
            #expect(try await eventually { try await running() == 1 })
            w4.signal(SIGTERM)
            let w4Status = try await w4.waitForExit(timeout: .seconds(20))
            #expect(w4Status == 0, "exit status \(String(describing: w4Status)):\n\((try? String(contentsOf: w4.log, encoding: .utf8)) ?? "")")
            let released = try await database.read {
                try await $0.first("SELECT state, attempt FROM jobs WHERE queue = 'mail' AND state <> 'completed'")
            }
            let details = await dump()
            #expect(try released?.decode(at: 0, as: String.self) == "available", "\(details)\n\((try? String(contentsOf: w4.log, encoding: .utf8)) ?? "")")
            #expect(try released?.decode(at: 1, as: Int.self) == 0)
            _ = try await start("worker", "w5")
            try await expectCompleted(14)
            #expect(smtp.messageIDs().count == 14)

            // Each job completed exactly once, none dead, none left.
            let states = try await database.read { db in
                try await db.query("SELECT state, COUNT(*) FROM jobs WHERE queue = 'mail' GROUP BY state").map {
                    (try $0.decode(at: 0, as: String.self), try $0.decode(at: 1, as: Int.self))
                }
            }
            #expect(states.count == 1 && states.first?.0 == "completed" && states.first?.1 == 14)
        }
    }
}
