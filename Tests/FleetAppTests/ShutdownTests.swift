import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real binary, run as an operator would: SIGTERM lets in-flight requests finish,
/// and what was acknowledged is there after a restart.
@Suite(.serialized) struct ShutdownTests {
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["FLEET_BIN"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/fleet")
    }

    /// One `fleet serve` process. Its output goes to a log file, never to the test
    /// runner's: a server left running would hold that open, and `swift test` would
    /// wait for it forever. `stop()` in a `defer` ends it whatever the test did.
    struct Server {
        let process: Process
        let port: Int
        let adminPort: Int
        let log: URL

        static func start(dataDirectory: URL, bcryptCost: Int, settings: [String] = []) async throws -> Server {
            let log = URL(fileURLWithPath: dataDirectory.path + ".log")
            for _ in 0..<5 {
                let port = Int.random(in: 20_000..<45_000)
                let adminPort = port + 1
                let process = Process()
                process.executableURL = ShutdownTests.binary
                process.arguments = [
                    "serve", "--data-dir", dataDirectory.path, "--http-port", "\(port)", "--http-admin-port", "\(adminPort)",
                    "--auth-bcrypt-cost", "\(bcryptCost)", "--log-level", "warning",
                ] + settings
                FileManager.default.createFile(atPath: log.path, contents: nil)
                let output = try FileHandle(forWritingTo: log)
                defer { try? output.close() }
                process.standardInput = FileHandle.nullDevice
                process.standardOutput = output
                process.standardError = output
                try process.run()
                let server = Server(process: process, port: port, adminPort: adminPort, log: log)
                // Generous: a debug build on a machine busy with the rest of the suite.
                for _ in 0..<400 {
                    try await Task.sleep(for: .milliseconds(50))
                    guard process.isRunning else { break }
                    if (try? await get(port: port, "/health/ready")) == .ok { return server }
                }
                server.stop()
            }
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw ServerError(description: "fleet serve did not become ready:\n\(text)")
        }

        func waitForExit(timeout: Duration) async throws -> Int32? {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            return process.isRunning ? nil : process.terminationStatus
        }

        /// Kills the server if it still runs (SIGKILL), and removes its log.
        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(at: log)
        }
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
    }

    /// One request on a connection of its own, closed before returning.
    static func request(port: Int, _ path: String) async throws -> TestClient.Response {
        let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(10)))
        client.connect()
        do {
            let response = try await client.get(path)
            try? await client.shutdown()
            return response
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func get(port: Int, _ path: String) async throws -> HTTPResponse.Status {
        try await request(port: port, path).head.status
    }

    /// From the admin listener's `/metrics`.
    static func signupInFlight(port: Int) async throws -> Bool {
        let body = try await request(port: port, "/metrics").body ?? ByteBuffer()
        return String(buffer: body).split(separator: "\n").contains { line in
            line.hasPrefix("http_server_active_requests{") && line.contains("POST") && !line.hasSuffix(" 0") && !line.hasSuffix(" 0.0")
        }
    }

    @Test func sigtermFinishesInFlightRequestsAndLosesNothing() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build the fleet binary first: \(Self.binary.path)")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-shutdown-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        // Cost 13 makes a sign-up take a noticeable fraction of a second: long enough to be in flight.
        let server = try await Server.start(dataDirectory: data, bcryptCost: 13)
        defer { server.stop() }
        let client = TestClient(host: "127.0.0.1", port: server.port, configuration: .init(timeout: .seconds(30)))
        client.connect()
        let signup = Task {
            try await client.post(
                "/api/users", headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"user":{"username":"last","email":"last@example.com","password":"password123"}}"#)
            )
        }
        // SIGTERM only once the server is working on the sign-up (on a busy machine the
        // request can take a while to arrive): /metrics counts active POST requests.
        for _ in 0..<200 where try await !Self.signupInFlight(port: server.adminPort) {
            try await Task.sleep(for: .milliseconds(10))
        }
        kill(server.process.processIdentifier, SIGTERM)
        let response = try await signup.value
        try? await client.shutdown()
        #expect(response.head.status == .created)
        #expect(try await server.waitForExit(timeout: .seconds(15)) == 0)

        // Acknowledged means stored: the account works after a restart.
        let restarted = try await Server.start(dataDirectory: data, bcryptCost: 4)
        defer { restarted.stop() }
        let login = TestClient(host: "127.0.0.1", port: restarted.port)
        login.connect()
        let loginResponse = try await login.post(
            "/api/users/login", headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"user":{"email":"last@example.com","password":"password123"}}"#)
        )
        try? await login.shutdown()
        #expect(loginResponse.head.status == .ok)
    }
}
