import FleetTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An instance killed between a commit and its cache invalidation (the failpoint
/// `after-commit.cache.invalidate`) no longer leaves the other instances serving the old
/// value until the TTL: the invalidation was committed as a job with the change, and a
/// worker of the surviving instance runs it.
@Suite(.enabled(if: TestPostgres.adminURL != nil && RedisServerProcess.enabled, "needs PostgreSQL and redis-server"))
struct CrashConsistencyTests {
    static func json(_ response: TestClient.Response) throws -> JSON {
        JSON(value: try JSONSerialization.jsonObject(with: Data((response.body ?? ByteBuffer()).readableBytesView), options: [.fragmentsAllowed]))
    }

    @Test func aCrashBetweenCommitAndInvalidationHealsWithinSeconds() async throws {
        let redis = try RedisServerProcess()
        let database = try await TestPostgres.createDatabase(admin: try #require(TestPostgres.adminURL))
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let common = [
            "--database-url", database, "--redis-url", redis.url, "--auth-jwt-secret", String(repeating: "s", count: 32),
            "--ratelimit-enabled", "false", "--cache-ttl-seconds", "300",
        ]
        let survivor = try await FleetServer.start(dataDirectory: data.appendingPathComponent("b"), bcryptCost: 4, settings: common)
        defer { survivor.stop() }
        let doomed = try await FleetServer.start(
            dataDirectory: data.appendingPathComponent("a"), bcryptCost: 4, settings: common,
            environment: ["FLEET_FAILPOINTS": "after-commit.cache.invalidate"]
        )
        defer { doomed.stop() }

        let signUp = try await FleetServer.request(
            port: survivor.port, "/api/users", json: #"{"user":{"username":"writer","email":"writer@example.com","password":"password123"}}"#
        )
        let token = try #require(try Self.json(signUp)["user"]["token"].string)
        let created = try await FleetServer.request(
            port: survivor.port, "/api/articles", json: #"{"article":{"title":"Crash","description":"Before","body":"b","tagList":[]}}"#, token: token
        )
        let slug = try #require(try Self.json(created)["article"]["slug"].string)
        func title() async throws -> String? {  // the description (an edit that keeps the slug)
            let response = try await FleetServer.request(port: survivor.port, "/api/articles/\(slug)")
            return try Self.json(response)["article"]["description"].string
        }
        #expect(try await title() == "Before")  // cached by the survivor (L1 and Redis)

        // The doomed instance commits the edit and dies before invalidating.
        _ = try? await FleetServer.request(
            port: doomed.port, "/api/articles/\(slug)", json: #"{"article":{"description":"After"}}"#, method: .put, token: token
        )
        #expect(try await doomed.waitForExit(timeout: .seconds(10)) != nil, "the failpoint killed the instance")
        // The failpoint fired before the invalidation: the survivor still serves the old text...
        #expect(try await title() == "Before")
        // ...until its worker runs the invalidation job (due ten seconds after the commit),
        // long before the five-minute TTL.
        let deadline = ContinuousClock.now + .seconds(40)
        var seen = try await title()
        while seen != "After", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            seen = try await title()
        }
        #expect(seen == "After")
    }
}
