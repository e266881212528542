import Configuration
@testable import FleetApp
import FleetData
import FleetObservability
import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

/// The ops page on the admin listener: `/ops/data` tells what the API served, the page is
/// self-contained, and retrying or discarding a dead job needs the admin token.
@Suite struct OpsTests {
    static let token = "ops-test-token-0123456789"

    @Test func opsDataReportsRoutesShardsQueuesAndCaches() async throws {
        try await TestConduit.make().test { client, harness in
            let user = try await client.register("opsreader")
            let slug = try await client.createArticle(user)
            for _ in 0..<5 { #expect(try await client.send(.get, "/api/articles/\(slug)").status == .ok) }
            for _ in 0..<3 { #expect(try await client.send(.get, "/api/tags").status == .ok) }
            #expect(try await client.send(.get, "/api/articles/no-such-article-1x8k3m2q0w").status == .notFound)
            let ops = try #require(harness.fleet.ops)
            var sampler = OpsSampler()
            await ops.sample(with: &sampler)
            try await harness.fleet.admin.test(.router) { admin in
                let response = try await admin.execute(uri: "/ops/data", method: .get)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                let data = try JSONDecoder().decode(OpsData.self, from: Data(response.body.readableBytesView))
                let routes = Dictionary(uniqueKeysWithValues: data.routes.map { ($0.route, $0) })
                #expect(routes["GET /api/articles/{slug}"]?.totalRequests == 6)
                #expect(routes["GET /api/articles/{slug}"]?.clientErrors == 1)
                #expect(routes["GET /api/tags"]?.totalRequests == 3)
                #expect(routes["POST /api/users"]?.totalRequests == 1)
                #expect(routes["POST /api/articles"]?.totalRequests == 1)
                #expect(data.traffic.totalRequests == 11)
                #expect(data.traffic.p99 > 0)
                #expect(data.instances.map(\.id) == [data.instance.id])
                #expect(data.instance.role == "api")
                #expect(data.shards.count == harness.database.nodes.count)
                #expect(data.shards.first?.nodes.first?.health == "up")
                #expect((data.pools.first?.max ?? 0) > 0)
                #expect(data.caches.contains { $0.cache == "article" && $0.layer == "l1" && $0.hits + $0.misses > 0 })
                #expect(data.redis.configured == false)
                #expect(data.limiter.enabled && data.limiter.limit > 0)
                #expect(data.actionsEnabled == false)
                #expect(!data.history.isEmpty)
                #expect(data.problems.isEmpty)
            }
        }
    }

    @Test func thePageIsSelfContained() async throws {
        try await TestConduit.make().test { _, harness in
            try await harness.fleet.admin.test(.router) { admin in
                let response = try await admin.execute(uri: "/ops", method: .get)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
                let html = String(buffer: response.body)
                #expect(html.contains("fetch(\"/ops/data\""))
                // Every panel is closed where it opens (the parser would forgive it, the layout not).
                #expect(html.components(separatedBy: "<section").count == html.components(separatedBy: "</section>").count)
                // Nothing loaded from elsewhere: no external script, style, font or image.
                for banned in ["<script src", "<link", "@import", "url(", "https://"] { #expect(!html.contains(banned), "page contains \(banned)") }
                // The only absolute URL is SVG's namespace, which is a name, not a fetch.
                #expect(html.components(separatedBy: "http://").count - 1 == html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1)
            }
        }
    }

    @Test func deadJobActionsNeedTheToken() async throws {
        try await TestConduit.make(["ops.admin.token": .init(.string(Self.token), isSecret: true)]).test { _, harness in
            let node = harness.database.nodes[0]
            let first = try await Self.insertDeadJob(node)
            let second = try await Self.insertDeadJob(node)
            try await harness.fleet.admin.test(.router) { admin in
                let data = try JSONDecoder().decode(OpsData.self, from: Data(try await admin.execute(uri: "/ops/data", method: .get).body.readableBytesView))
                #expect(data.actionsEnabled)
                #expect(Set(data.deadJobs.map(\.id)) == ["0:\(first)", "0:\(second)"])
                #expect(data.queues.first { $0.queue == "ops-test" }?.dead == 2)

                // No token, a wrong one: 403 in the Conduit shape, nothing changes.
                let missing = try await admin.execute(uri: "/ops/jobs/0:\(first)/retry", method: .post)
                #expect(missing.status == .forbidden)
                #expect(errors(missing)["body"]?.first?.contains("missing or wrong") == true)
                let wrong = try await admin.execute(uri: "/ops/jobs/0:\(first)/retry", method: .post, headers: [OpsRoutes.tokenHeader: Self.token + "x"])
                #expect(wrong.status == .forbidden)

                let good: HTTPFields = [OpsRoutes.tokenHeader: Self.token]
                #expect(try await admin.execute(uri: "/ops/jobs/0:\(first)/retry", method: .post, headers: good).status == .noContent)
                #expect(try await admin.execute(uri: "/ops/jobs/0:\(second)/discard", method: .post, headers: good).status == .noContent)
                // Gone from the dead: one ready again, one deleted.
                #expect(try await admin.execute(uri: "/ops/jobs/0:\(second)/discard", method: .post, headers: good).status == .notFound)
                #expect(try await admin.execute(uri: "/ops/jobs/nonsense/retry", method: .post, headers: good).status == .unprocessableContent)
                let after = try JSONDecoder().decode(OpsData.self, from: Data(try await admin.execute(uri: "/ops/data", method: .get).body.readableBytesView))
                #expect(after.deadJobs.isEmpty)
                let queue = after.queues.first { $0.queue == "ops-test" }
                #expect(queue?.dead == 0 && queue?.depth == 1)
            }
        }
    }

    @Test func withoutATokenActionsAreOff() async throws {
        try await TestConduit.make().test { _, harness in
            try await harness.fleet.admin.test(.router) { admin in
                let response = try await admin.execute(uri: "/ops/jobs/0:1/discard", method: .post, headers: [OpsRoutes.tokenHeader: "anything"])
                #expect(response.status == .forbidden)
                #expect(errors(response)["body"] == ["ops actions are off: set ops.admin.token"])
            }
        }
    }

    /// A worker (`fleet worker`) has no API, but its admin listener shows the queues.
    @Test func aWorkerServesThePageToo() async throws {
        let conduit = try await TestConduit.make()
        defer { try? FileManager.default.removeItem(at: conduit.directory) }
        let worker = try await FleetApplication.build(conduit.settings, role: .worker, logger: TestConduit.logger, metrics: PrometheusCollectorRegistry())
        try await worker.admin.test(.router) { admin in
            try await worker.databases.migrate()
            _ = try await Self.insertDeadJob(worker.databases.shards.nodes[0])
            let data = try JSONDecoder().decode(OpsData.self, from: Data(try await admin.execute(uri: "/ops/data", method: .get).body.readableBytesView))
            #expect(data.instance.role == "worker")
            #expect(data.routes.isEmpty && !data.limiter.enabled)
            #expect(data.queues.first { $0.queue == "ops-test" }?.dead == 1)
            #expect(try await admin.execute(uri: "/ops", method: .get).status == .ok)
        }
    }

    /// A job that ran out of attempts, as a worker leaves it; returns its id.
    static func insertDeadJob(_ node: InstrumentedDatabase) async throws -> Int64 {
        try await node.transaction { db in
            let row = try await db.first(
                """
                INSERT INTO jobs (queue, name, payload, state, run_at, attempt, max_attempts, last_error, created_at, finished_at)
                VALUES ('ops-test', 'explode', '{}', 'dead', 1, 3, 3, 'boom', 1, \(bind: Int64(Date().timeIntervalSince1970 * 1_000_000)))
                RETURNING id
                """
            )
            return try #require(row).decode(at: 0)
        }
    }
}

@Suite struct OpsPartsTests {
    @Test func jobIDs() {
        #expect(OpsJobID("0:42", shards: 2) == OpsJobID(shard: 0, job: 42))
        #expect(OpsJobID("1:7", shards: 2) == OpsJobID(shard: 1, job: 7))
        #expect(OpsJobID("42", shards: 1) == OpsJobID(shard: 0, job: 42))
        for bad in ["42", "2:1", "-1:3", "0:", ":1", "0:x", "0:1:2", "", "0:-5"] { #expect(OpsJobID(bad, shards: 2) == nil, "\(bad)") }
        #expect(OpsJobID(shard: 1, job: 9).description == "1:9")
    }

    @Test func token() {
        let token = OpsToken("secret-token")
        #expect(token.isEnabled)
        #expect(token.accepts("secret-token"))
        for wrong in [nil, "", "secret-toke", "secret-tokenn", "SECRET-TOKEN"] { #expect(!token.accepts(wrong)) }
        let off = OpsToken(nil)
        #expect(!off.isEnabled && !off.accepts("secret-token") && !off.accepts(""))
    }

    @Test func samplesAreRatesSinceThePreviousSample() {
        var sampler = OpsSampler()
        let first = sampler.sample(
            .init(at: 10_000, routes: ["GET /a": (100, 0)], cacheLookups: 50, cacheHits: 10), p99: 3, queueDepth: 2, inFlight: 1
        )
        #expect(first.rate == 0 && first.routes.isEmpty && first.p99 == 3 && first.queueDepth == 2)
        let second = sampler.sample(
            .init(at: 15_000, routes: ["GET /a": (150, 5), "GET /b": (10, 0)], cacheLookups: 150, cacheHits: 90), p99: 4, queueDepth: 0,
            inFlight: 0
        )
        #expect(second.rate == 12)  // 60 requests in 5 s
        #expect(second.routes == ["GET /a": 10, "GET /b": 2])
        #expect(abs(second.errorRate - 5.0 / 60) < 1e-9)
        #expect(abs(second.cacheHitRatio - 0.8) < 1e-9)
        // A clock that did not move gives no rates rather than a division by zero.
        let third = sampler.sample(.init(at: 15_000, routes: [:], cacheLookups: 150, cacheHits: 90), p99: 0, queueDepth: 0, inFlight: 0)
        #expect(third.rate == 0)
    }
}
