import FleetTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func installed(_ name: String) -> Bool {
    ["/usr/sbin/", "/usr/bin/"].contains { FileManager.default.isExecutableFile(atPath: $0 + name) }
}

/// A load balancer with its shipped configuration (nginx: deploy/nginx/fleet.conf through
/// scripts/lb.sh; HAProxy: deploy/haproxy/haproxy.cfg through scripts/haproxy.sh) in front
/// of two instances, one of which dies (the failpoint `keyed-write.committed`) right after
/// committing a create sent with an `Idempotency-Key`, before answering it. The balancer
/// sends the request again to the other instance, which answers with what the dead one
/// created: the client sees 201, and nothing exists twice.
// One balancer at a time: each case runs three debug servers and a balancer (the test
// command runs this suite apart from the rest, for the same reason).
@Suite(.serialized, .enabled(if: TestPostgres.adminURL != nil && installed("nginx") && installed("haproxy"), "needs PostgreSQL, nginx and HAProxy"))
struct ResendThroughBalancerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A balancer in front of `instances`, on `port`; `stop()` ends it.
    struct Balancer {
        let port: Int
        let stop: () -> Void
    }

    static func script(_ name: String) -> String { root.appendingPathComponent("scripts/\(name)").path }

    /// Starts `kind` in `directory` on a free port: nginx through the shell's `system()`,
    /// not `Process` (Foundation learns that a child ended when a descriptor it shares with
    /// it closes, and nginx's daemon, started by the child, would hold that open for good);
    /// HAProxy in the foreground, as a child, ready once its own health URI says an
    /// instance is up.
    static func start(_ kind: String, in directory: URL, _ instances: [Int]) async throws -> Balancer {
        let upstreams = instances.map { "127.0.0.1:\($0)" }
        for _ in 0..<3 {  // a port someone else took: another one
            let port = Int.random(in: 45_000..<55_000)
            if kind == "nginx" {
                let command = "bash '\(script("lb.sh"))' start '\(directory.path)' \(port) \(upstreams.joined(separator: " ")) >/dev/null 2>&1 </dev/null"
                guard system(command) == 0 else { continue }
                return Balancer(port: port) {
                    guard let text = try? String(contentsOf: directory.appendingPathComponent("nginx.pid"), encoding: .utf8),
                        let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
                    else { return }
                    kill(pid, SIGTERM)
                }
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [script("haproxy.sh"), "run", directory.path, "\(port)", "\(port + 1)"] + upstreams
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try ChildProcess.run(process)
            let stop = {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            for _ in 0..<200 where process.isRunning {
                if (try? await FleetServer.request(port: port, "/lb/health", headers: host))?.head.status == .ok { return Balancer(port: port, stop: stop) }
                try await Task.sleep(for: .milliseconds(50))
            }
            stop()
        }
        throw FleetServerError(description: "\(kind) did not start")
    }

    static let key = HTTPField.Name("Idempotency-Key")!
    /// nginx refuses an HTTP/1.1 request without one (the test client sends none).
    static let host: HTTPFields = [HTTPField.Name("Host")!: "127.0.0.1"]

    static func json(_ response: TestClient.Response) throws -> JSON {
        JSON(value: try JSONSerialization.jsonObject(with: Data((response.body ?? ByteBuffer()).readableBytesView), options: [.fragmentsAllowed]))
    }

    @Test(arguments: ["nginx", "haproxy"]) func aKeyedCreateInFlightOnADyingInstanceIsAnsweredByTheOtherOnce(_ kind: String) async throws {
        let database = try await TestPostgres.createDatabase(admin: try #require(TestPostgres.adminURL))
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-resend-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let common = ["--database-url", database, "--auth-jwt-secret", String(repeating: "s", count: 32), "--ratelimit-enabled", "false"]
        let doomedEnvironment = ["FLEET_FAILPOINTS": "keyed-write.committed"]
        var doomed = try await FleetServer.start(dataDirectory: data.appendingPathComponent("a"), bcryptCost: 4, settings: common, environment: doomedEnvironment)
        defer { doomed.stop() }
        let survivor = try await FleetServer.start(dataDirectory: data.appendingPathComponent("b"), bcryptCost: 4, settings: common)
        defer { survivor.stop() }
        let balancer = try await Self.start(kind, in: data.appendingPathComponent("lb"), [doomed.port, survivor.port])
        defer { balancer.stop() }
        let port = balancer.port

        let signUp = try await FleetServer.request(port: port, "/api/users", json: #"{"user":{"username":"resent","email":"resent@example.com","password":"password123"}}"#, headers: Self.host)
        #expect(signUp.head.status == .created, "sign-up through \(kind): \(String(buffer: signUp.body ?? ByteBuffer()))")
        let token = try #require(try Self.json(signUp)["user"]["token"].string)

        // Sequential creates alternate between the instances: soon one reaches the doomed
        // instance, which commits it and dies.
        var slugs: [String] = []
        var deadline = ContinuousClock.now + .seconds(20)
        while doomed.process.isRunning, ContinuousClock.now < deadline {
            let index = slugs.count
            let response = try await FleetServer.request(
                port: port, "/api/articles", json: #"{"article":{"title":"Resent \#(index)","description":"d","body":"b","tagList":[]}}"#, token: token,
                headers: Self.host + [Self.key: "article-\(index)"]
            )
            try #require(response.head.status == .created, "article \(index) through \(kind)")
            slugs.append(try #require(try Self.json(response)["article"]["slug"].string))
        }
        #expect(try await doomed.waitForExit(timeout: .seconds(10)) != nil, "the failpoint killed the instance")
        let listed = try Self.json(try await FleetServer.request(port: survivor.port, "/api/articles?author=resent"))
        #expect(listed["articlesCount"].int == slugs.count, "one article per key, none twice")
        #expect(Set(slugs).count == slugs.count)

        // The same for comments, with the doomed instance back (nginx tries it again after
        // its 2 s fail_timeout, HAProxy after two passing health checks).
        doomed = try await FleetServer.start(
            dataDirectory: data.appendingPathComponent("a"), bcryptCost: 4, settings: common, environment: doomedEnvironment, port: doomed.port
        )
        let slug = try #require(slugs.first)
        var numbers: [Int] = []
        deadline = ContinuousClock.now + .seconds(30)
        while doomed.process.isRunning, ContinuousClock.now < deadline {
            let index = numbers.count
            let response = try await FleetServer.request(
                port: port, "/api/articles/\(slug)/comments", json: #"{"comment":{"body":"c\#(index)"}}"#, token: token, headers: Self.host + [Self.key: "comment-\(index)"]
            )
            try #require(response.head.status == .created, "comment \(index) through \(kind)")
            numbers.append(try #require(try Self.json(response)["comment"]["id"].int))
            // Paced, so that the comments stay within one page (100) while the balancer
            // waits to try the doomed instance again.
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await doomed.waitForExit(timeout: .seconds(10)) != nil, "the failpoint killed the instance again")
        #expect(numbers == Array(1...numbers.count))
        let comments = try Self.json(try await FleetServer.request(port: survivor.port, "/api/articles/\(slug)/comments"))
        #expect(comments["comments"].array.count == numbers.count, "one comment per key, none twice")
    }
}
