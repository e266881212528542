import Configuration
@testable import FleetApp
import FleetCache
import FleetData
import FleetRedis
import FleetTestSupport
import FleetObservability
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

/// A complete Conduit app, as `fleet serve` builds it, over a fresh database: a new
/// SQLite file, or, when `FLEET_TEST_POSTGRES_URL` names a PostgreSQL server, a new
/// database on it. With `FLEET_TEST_SHARDS=n` (or `shards:`), n such databases are the
/// physical shards. The bcrypt cost is low so tests stay fast.
struct TestConduit {
    let directory: URL
    var settings: FleetSettings
    /// What `settings` were made from.
    var values: [AbsoluteConfigKey: ConfigValue]
    /// Whether `test` deletes the data folder when done (off to reopen the same data).
    var removesFiles = true

    /// What a test may reach behind the HTTP API.
    struct Harness: Sendable {
        let fleet: FleetApplication
        var database: Shards { fleet.databases.shards }
        var services: ConduitServices { fleet.services }
        var redis: RedisServices? { fleet.redis }

        init(_ fleet: FleetApplication) { self.fleet = fleet }

        /// Waits until no job is waiting or running on any shard (what a write left for
        /// later, such as the invalidation job that follows it, is done).
        func waitForJobs(within limit: Duration = .seconds(30)) async throws {
            let deadline = ContinuousClock.now + limit
            while ContinuousClock.now < deadline {
                var pending = 0
                for node in database.nodes {
                    pending += try await node.readLatest {
                        try await $0.first("SELECT COUNT(*) AS n FROM jobs WHERE state IN ('available', 'running')")?.decode("n", as: Int.self)
                    } ?? 0
                }
                if pending == 0 { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("jobs still pending after \(limit)")
        }

        /// Waits until this instance receives invalidations (its pub/sub is subscribed) and
        /// its commands may reach Redis (after an outage, its breaker's wait is over).
        func waitForRedis() async throws {
            guard let redis else { return }
            try await redis.client.waitUntilConnected()
            func ready() -> Bool { redis.bus.isSubscribed && !redis.client.breaker.refusesCalls }
            for _ in 0..<1000 where !ready() { try await Task.sleep(for: .milliseconds(10)) }
            #expect(ready())
        }
    }

    static func make(_ overrides: [AbsoluteConfigKey: ConfigValue] = [:], shards: Int? = nil) async throws -> TestConduit {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-app-\(UUID().uuidString)")
        var values: [AbsoluteConfigKey: ConfigValue] = [
            "data.dir": .init(.string(directory.path), isSecret: false),
            "auth.bcrypt.cost": .init(.int(4), isSecret: false),
            "log.level": .init(.string("error"), isSecret: false),
            // Tests make requests faster than any client would; the rate-limit tests turn it on.
            "ratelimit.enabled": .init(.bool(false), isSecret: false),
            // Many test processes share two cores, so a test's own requests often wait in
            // a standing queue, which would shed them; LoadSheddingTests test that.
            "http.shedding.queue.target.ms": .init(.int(0), isSecret: false),
            // Any free port: many instances run at once.
            "http.admin.port": .init(.int(0), isSecret: false),
            "http.port": .init(.int(0), isSecret: false),
        ]
        let admin = ProcessInfo.processInfo.environment["FLEET_TEST_POSTGRES_URL"]
        if let admin {
            values["database.url"] = .init(.string(try await TestPostgres.createDatabase(admin: admin)), isSecret: true)
        }
        let count = shards ?? ProcessInfo.processInfo.environment["FLEET_TEST_SHARDS"].flatMap { Int($0) } ?? 1
        for shard in 1..<max(1, count) {
            let url = if let admin { try await TestPostgres.createDatabase(admin: admin) } else { "sqlite:\(directory.path)/shard\(shard).sqlite" }
            values[AbsoluteConfigKey(["database", "shard", "\(shard)", "url"])] = .init(.string(url), isSecret: true)
        }
        values.merge(overrides) { $1 }
        let settings = try FleetSettings(config: ConfigReader(provider: InMemoryProvider(values: values)))
        return TestConduit(directory: directory, settings: settings, values: values)
    }

    /// Runs `body` against the app as `fleet serve` builds it (`FleetApplication`),
    /// in-process (or over a socket with `.live`), then cleans up.
    func test<T: Sendable>(_ setup: TestingSetup = .router, _ body: @escaping @Sendable (any TestClientProtocol, Harness) async throws -> T) async throws -> T {
        defer { if removesFiles { try? FileManager.default.removeItem(at: directory) } }
        let fleet = try await FleetApplication.build(settings, logger: Self.logger, metrics: PrometheusCollectorRegistry())
        return try await fleet.api.test(setup) { client in try await body(client, Harness(fleet)) }
    }

    /// Two API instances over the same data and one Redis (`redis.url` must be set), each
    /// with its own caches and limiter, reached over real sockets. The second uses the
    /// databases the first opened (one SQLite file has one writer per process).
    func testPair(_ body: @escaping @Sendable (any TestClientProtocol, any TestClientProtocol, Harness, Harness) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try await FleetApplication.build(settings, logger: Self.logger, metrics: PrometheusCollectorRegistry())
        let second = try await FleetApplication.build(
            settings, logger: Self.logger, metrics: PrometheusCollectorRegistry(), sharing: first.databases
        )
        try await first.api.test(.live) { a in
            try await second.api.test(.live) { b in
                try await body(a, b, Harness(first), Harness(second))
            }
        }
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .error
        return logger
    }

    /// The same data with more settings.
    func with(_ overrides: [AbsoluteConfigKey: ConfigValue]) throws -> TestConduit {
        var copy = self
        copy.values.merge(overrides) { $1 }
        copy.settings = try FleetSettings(config: ConfigReader(provider: InMemoryProvider(values: copy.values)))
        return copy
    }

    func test<T: Sendable>(_ setup: TestingSetup = .router, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await test(setup) { client, _ in try await body(client) }
    }
}

/// A response body parsed as JSON.
struct JSON: @unchecked Sendable {
    let value: Any?

    init(_ response: TestResponse) {
        value = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView), options: [.fragmentsAllowed])
    }

    init(value: Any?) { self.value = value }

    subscript(key: String) -> JSON { JSON(value: (value as? [String: Any])?[key]) }
    subscript(index: Int) -> JSON {
        guard let array = value as? [Any], array.indices.contains(index) else { return JSON(value: nil) }
        return JSON(value: array[index])
    }
    var string: String? { value as? String }
    var int: Int? { value as? Int }
    var bool: Bool? { value as? Bool }
    var array: [JSON] { (value as? [Any])?.map { JSON(value: $0) } ?? [] }
}

extension TestClientProtocol {
    /// Sends a JSON request, optionally authenticated.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json body: String? = nil, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Token \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    /// Reads `uri` until `done` holds for its JSON, for at most `limit`; returns the last.
    /// For what is mirrored after a write is acknowledged (a favorite's count): at once
    /// normally, by the edge's job when the request's own delivery ran past the shards'
    /// timeout on a busy machine (due ten seconds after the commit).
    func eventually(_ uri: String, within limit: Duration = .seconds(30), _ done: (JSON) -> Bool) async throws -> JSON {
        let deadline = ContinuousClock.now + limit
        while true {
            let json = JSON(try await send(.get, uri))
            if done(json) || ContinuousClock.now >= deadline { return json }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Registers a user and returns its token.
    func register(_ name: String) async throws -> String {
        let response = try await send(.post, "/api/users", json: #"{"user":{"username":"\#(name)","email":"\#(name)@example.com","password":"password123"}}"#)
        #expect(response.status == .created)
        return try #require(JSON(response)["user"]["token"].string)
    }

    /// Creates an article and returns its slug.
    func createArticle(_ token: String, title: String = "A title", tags: [String] = ["swift"]) async throws -> String {
        let tagList = tags.map { "\"\($0)\"" }.joined(separator: ",")
        let response = try await send(.post, "/api/articles", token: token, json: #"{"article":{"title":"\#(title)","description":"d","body":"b","tagList":[\#(tagList)]}}"#)
        #expect(response.status == .created)
        return try #require(JSON(response)["article"]["slug"].string)
    }
}

/// The errors object of a Conduit error body.
func errors(_ response: TestResponse) -> [String: [String]] {
    (JSON(response)["errors"].value as? [String: [String]]) ?? [:]
}
