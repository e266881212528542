import FleetTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One `fleet serve` (or `fleet worker`) process. Its output goes to a log file, never to the test
/// runner's: a server left running would hold that open, and `swift test` would
/// wait for it forever. `stop()` in a `defer` ends it whatever the test did.
struct FleetServer {
    let process: Process
    let port: Int
    let adminPort: Int
    let log: URL

    /// Starts `fleet ROLE` and waits until it is ready (`/health/ready` on the API port, or
    /// on the admin port for a worker). A recommender listens on `port` (its
    /// `recommender.port`). `port`: that one instead of a random free one.
    static func start(
        _ role: String = "serve", dataDirectory: URL, bcryptCost: Int, settings: [String] = [], environment: [String: String] = [:],
        port fixedPort: Int? = nil
    ) async throws -> FleetServer {
        let log = URL(fileURLWithPath: dataDirectory.path + ".log")
        for _ in 0..<5 {
            let port = fixedPort ?? Int.random(in: 20_000..<45_000)
            let adminPort = port + 1
            let process = Process()
            process.executableURL = Self.binary
            process.arguments = [
                role, "--data-dir", dataDirectory.path, "--http-port", "\(port)", "--http-admin-port", "\(adminPort)",
                "--auth-bcrypt-cost", "\(bcryptCost)",
            ] + (settings.contains("--log-level") ? [] : ["--log-level", "warning"])
                // As in TestConduit: on a machine shared by many tests, shedding by queue wait
                // would refuse the tests' own requests.
                + (settings.contains("--http-shedding-queue-target-ms") ? [] : ["--http-shedding-queue-target-ms", "0"]) + (role == "recommender" ? ["--recommender-port", "\(port)"] : []) + settings
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let output = try FileHandle(forWritingTo: log)
            defer { try? output.close() }
            if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = output
            process.standardError = output
            try ChildProcess.run(process)
            let server = FleetServer(process: process, port: port, adminPort: adminPort, log: log)
            // Generous: a debug build on a machine busy with the rest of the suite.
            for _ in 0..<400 {
                try await Task.sleep(for: .milliseconds(50))
                guard process.isRunning else { break }
                if (try? await get(port: role == "worker" ? adminPort : port, "/health/ready")) == .ok { return server }
            }
            server.stop()
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw FleetServerError(description: "fleet \(role) did not become ready:\n\(text)")
    }

    func waitForExit(timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Signs a user up (`NAME@example.com`, password `password123`) and returns the token.
    func signUp(_ name: String) async throws -> String {
        let response = try await Self.request(
            port: port, "/api/users", json: #"{"user":{"username":"\#(name)","email":"\#(name)@example.com","password":"password123"}}"#
        )
        let json = try JSONSerialization.jsonObject(with: Data((response.body ?? ByteBuffer()).readableBytesView)) as? [String: Any]
        return try #require((json?["user"] as? [String: Any])?["token"] as? String)
    }

    /// The admin listener's `/metrics` text.
    func metrics() async throws -> String {
        String(buffer: try await Self.request(port: adminPort, "/metrics").body ?? ByteBuffer())
    }

    /// Kills the server if it still runs (SIGKILL), and removes its log.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: log)
    }

    /// The `fleet` binary under test: `$FLEET_BIN`, else the package's debug build.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["FLEET_BIN"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/fleet")
    }

    /// One request on a connection of its own, closed before returning; with `json`, a
    /// POST of it (or `method`).
    static func request(
        port: Int, _ path: String, json: String? = nil, method: HTTPRequest.Method? = nil, token: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> TestClient.Response {
        let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(10)))
        client.connect()
        do {
            let response = try await client.execute(
                TestClient.Request(
                    path, method: method ?? (json == nil ? .get : .post),
                    headers: HTTPFields(
                        (json == nil ? [] : [HTTPField(name: .contentType, value: "application/json")])
                            + (token.map { [HTTPField(name: .authorization, value: "Token \($0)")] } ?? []) + Array(extra)
                    ),
                    body: json.map { ByteBuffer(string: $0) }
                )
            )
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
}

struct FleetServerError: Error, CustomStringConvertible {
    let description: String
}
