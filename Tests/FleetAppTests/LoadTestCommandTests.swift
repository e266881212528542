import FleetTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `fleet loadtest` against a real `fleet serve` on SQLite: a short open-model run writes a
/// report with percentiles and plots, and `fleet loadtest verify` finds every write it
/// acknowledged, and fails when one is missing. The server is always SQLite, so the
/// reruns of FleetAppTests on shards and on PostgreSQL skip it.
@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["FLEET_TEST_SHARDS"] == nil && ProcessInfo.processInfo.environment["FLEET_TEST_POSTGRES_URL"] == nil,
        "runs once, on SQLite"
    )
)
struct LoadTestCommandTests {
    /// Runs `fleet ARGUMENTS` to its end (killed past `timeout`); its exit status and output.
    static func fleet(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-loadtest-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = FleetServer.binary
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try ChildProcess.run(process)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    static func object(_ value: Any?) -> [String: Any] { value as? [String: Any] ?? [:] }

    @Test func anOpenModelRunReportsAndItsWritesVerify() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-loadtest-\(UUID().uuidString)")
        let out = URL(fileURLWithPath: data.path + "-report")
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: out)
        }
        let server = try await FleetServer.start(dataDirectory: data, bcryptCost: 4, settings: ["--ratelimit-enabled", "false"])
        defer { server.stop() }
        let target = "http://127.0.0.1:\(server.port)"

        let run = try await Self.fleet([
            "loadtest", "--target", target, "--rate", "40", "--duration", "3", "--warmup", "0.5", "--users", "6", "--follows", "2",
            "--run-id", "t\(UInt32.random(in: 0...UInt32.max))", "--out", out.path, "--slo-p95-ms", "5000", "--fail-on-slo",
        ])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("SLO PASS"))

        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json"))) as? [String: Any])
        let total = Self.object(report["total"])
        #expect((total["requests"] as? Int ?? 0) > 60, "40/s for 3 s")
        #expect(total["errors"] as? Int == 0, "\(total)")
        let latency = Self.object(total["latencyMs"])
        for key in ["p50", "p95", "p99", "max"] { #expect((latency[key] as? Double ?? 0) > 0, "\(key) in \(latency)") }
        #expect(((report["intervals"] as? [Any])?.count ?? 0) >= 3)
        #expect(((report["operations"] as? [Any])?.count ?? 0) >= 5)
        #expect(Self.object(report["slo"])["pass"] as? Bool == true)
        for name in ["throughput.png", "latency.png"] {
            let png = try Data(contentsOf: out.appendingPathComponent(name))
            #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(name)")
        }
        #expect(try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8).contains("**SLO: PASS**"))

        let writes = out.appendingPathComponent("writes.jsonl")
        let verified = try await Self.fleet(["loadtest", "verify", "--writes", writes.path, "--target", target])
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains(" 0 lost, 0 could not be checked"), "\(verified.output)")

        // One write the server never saw: verify must say it is lost and fail.
        let handle = try FileHandle(forWritingTo: writes)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"kind":"article","slug":"never-written-0","title":"Never written","user":"nobody"}"#.utf8 + [0x0A]))
        try handle.close()
        let failed = try await Self.fleet(["loadtest", "verify", "--writes", writes.path, "--target", target])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.output.contains("1 lost") && failed.output.contains("LOST article never-written-0"), "\(failed.output)")
    }
}
