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
    /// From the admin listener's `/metrics`.
    static func signupInFlight(port: Int) async throws -> Bool {
        let body = try await FleetServer.request(port: port, "/metrics").body ?? ByteBuffer()
        return String(buffer: body).split(separator: "\n").contains { line in
            line.hasPrefix("http_server_active_requests{") && line.contains("POST") && !line.hasSuffix(" 0") && !line.hasSuffix(" 0.0")
        }
    }

    @Test func sigtermFinishesInFlightRequestsAndLosesNothing() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: FleetServer.binary.path), "build the fleet binary first: \(FleetServer.binary.path)")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-shutdown-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        // Cost 13 makes a sign-up take a noticeable fraction of a second: long enough to be in flight.
        let server = try await FleetServer.start(dataDirectory: data, bcryptCost: 13)
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
        let restarted = try await FleetServer.start(dataDirectory: data, bcryptCost: 4)
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
