public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real SMTP server for one test (aiosmtpd from PyPI, run by `scripts/smtp-server.py`):
/// on a free loopback port, storing each accepted message as a file. Tests stop and
/// freeze it to exercise a mail server that is down or stalled.
public final class SMTPServerProcess: TestServer, @unchecked Sendable {
    /// The Python with aiosmtpd: `$FLEET_TEST_PYTHON` (the test command makes a venv),
    /// else `python3`.
    public static let python = ProcessInfo.processInfo.environment["FLEET_TEST_PYTHON"] ?? "python3"

    /// Whether the SMTP tests run: when aiosmtpd can be imported, or always under
    /// `FLEET_TEST_REQUIRE_SMTP=1` (the project's test command), so a missing server fails
    /// there instead of skipping silently.
    public static let enabled: Bool = {
        if ProcessInfo.processInfo.environment["FLEET_TEST_REQUIRE_SMTP"] == "1" { return true }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = [python, "-c", "import aiosmtpd"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? ChildProcess.run(probe)) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/smtp-server.py").standardized

    public let port: Int
    public let directory: URL
    public let mailbox: URL
    private let arguments: [String]
    public var process: Process?

    /// Starts a server; with `user`, it requires AUTH PLAIN with that user and password;
    /// with `delay`, it answers each message that long after storing it (a slow server).
    public init(user: String? = nil, password: String? = nil, delay: Double = 0) async throws {
        port = try RedisServerProcess.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-smtp-\(UUID().uuidString)")
        mailbox = directory.appendingPathComponent("mail")
        arguments = (user.map { ["--user", $0, "--password", password ?? ""] } ?? []) + ["--delay", "\(delay)"]
        try FileManager.default.createDirectory(at: mailbox, withIntermediateDirectories: true)
        try await start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// Starts the server and waits (without holding a thread) until it listens.
    public func start() async throws {
        let log = directory.appendingPathComponent("smtp.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [Self.python, Self.script.path, "--port", "\(port)", "--dir", mailbox.path] + arguments
        process.standardInput = FileHandle.nullDevice
        // Never the test runner's own output (see RedisServerProcess).
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try ChildProcess.run(process)
        self.process = process
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("ready") { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw RedisServerProcess.ServerError("the SMTP server did not start on port \(port):\n\(text)")
    }

    /// The distinct Message-IDs received so far: what a receiver that drops resends keeps.
    public func messageIDs() -> Set<String> {
        Set(messages().compactMap { $0.split(separator: "\r\n").first { $0.hasPrefix("Message-ID:") }.map(String.init) })
    }

    /// The messages accepted so far, in order, as received (envelope lines first).
    public func messages() -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: mailbox.path)) ?? []).filter { $0.hasSuffix(".eml") }.sorted()
        return names.compactMap { try? String(contentsOf: mailbox.appendingPathComponent($0), encoding: .utf8) }
    }
}
