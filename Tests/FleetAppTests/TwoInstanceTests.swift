@testable import FleetApp
import FleetData
import FleetTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// Two API instances sharing one database and one Redis: what one writes, the other
/// reads at once.
@Suite(.enabled(if: RedisServerProcess.enabled, "needs redis-server"))
struct TwoInstanceTests {
    func pair(_ server: RedisServerProcess) async throws -> TestConduit {
        try await TestConduit.make(["redis.url": .init(.string(server.url), isSecret: true)])
    }

    @Test func aWriteOnOneInstanceIsReadOnTheOther() async throws {
        let server = try RedisServerProcess()
        try await pair(server).testPair { a, b, harnessA, harnessB in
            try await harnessA.waitForRedis()
            try await harnessB.waitForRedis()
            let token = try await a.register("author")
            let slug = try await a.createArticle(token, title: "Version 0")
            // The invalidation job that follows the write (and may run on either instance's
            // worker) is done, so it cannot empty L2 between A's read and B's.
            try await harnessA.waitForJobs()
            // A's read fills L2; B's first read is answered from it.
            let filled = try await a.send(.get, "/api/articles/\(slug)")
            let first = try await b.send(.get, "/api/articles/\(slug)")
            #expect(first.headers[.init("Cache-Status")!] == "fleet; hit; detail=l2", "A's read: \(filled.headers[.init("Cache-Status")!] ?? "none")")
            for version in 1...100 {
                let put = try await a.send(.put, "/api/articles/\(slug)", token: token, json: #"{"article":{"description":"v\#(version)"}}"#)
                #expect(put.status == .ok)
                let read = JSON(try await b.send(.get, "/api/articles/\(slug)"))
                #expect(read["article"]["description"].string == "v\(version)", "B read an old value after A's write returned")
                _ = try await b.send(.get, "/api/articles/\(slug)")  // B warms its L1 again
            }
            // A profile change on B is seen on A (user and username caches).
            for round in 1...20 {
                #expect(try await b.send(.put, "/api/user", token: token, json: #"{"user":{"bio":"bio \#(round)"}}"#).status == .ok)
                #expect(JSON(try await a.send(.get, "/api/profiles/author"))["profile"]["bio"].string == "bio \(round)")
                #expect(JSON(try await a.send(.get, "/api/articles/\(slug)"))["article"]["author"]["bio"].string == "bio \(round)")
            }
            let slowest = max(harnessA.redis?.bus.slowestPropagationMicroseconds ?? 0, harnessB.redis?.bus.slowestPropagationMicroseconds ?? 0)
            print("cross-instance invalidation: slowest propagation \(slowest) µs")
        }
    }

    /// A write whose invalidation Redis refused (here the writer's Redis breaker is forced
    /// open; in production, a timeout or a breaker still open after an outage) while the
    /// other instance's subscription stayed up: that instance's L1 would serve the old
    /// value until its TTL (300 s). The invalidation's job, made due at once, publishes it.
    @Test func anInvalidationRedisRefusedIsPublishedByItsJob() async throws {
        let server = try RedisServerProcess()
        try await pair(server).testPair { a, b, harnessA, harnessB in
            try await harnessA.waitForRedis()
            try await harnessB.waitForRedis()
            let token = try await a.register("author")
            let slug = try await a.createArticle(token, title: "Refused")
            try await harnessA.waitForJobs()
            _ = try await b.send(.get, "/api/articles/\(slug)")  // B holds it in L1
            let breaker = try #require(harnessA.redis).client.breaker
            breaker.force(.forcedOpen)
            let put = try await a.send(.put, "/api/articles/\(slug)", token: token, json: #"{"article":{"description":"changed"}}"#)
            breaker.force(nil)
            #expect(put.status == .ok)
            let start = ContinuousClock.now
            let read = try await b.eventually("/api/articles/\(slug)") { $0["article"]["description"].string == "changed" }
            #expect(read["article"]["description"].string == "changed", "B kept the value the write replaced")
            // Due at once, not after the grace (10 s) that inline work gets.
            #expect(ContinuousClock.now - start < .seconds(8))
        }
    }

    @Test func favoritesFromManyUsersThroughBothInstancesAddUp() async throws {
        let server = try RedisServerProcess()
        try await pair(server).testPair { a, b, harnessA, harnessB in
            try await harnessA.waitForRedis()
            try await harnessB.waitForRedis()
            let owner = try await a.register("owner")
            let slug = try await a.createArticle(owner, title: "Popular")
            let users = 40
            var tokens: [String] = []
            for index in 0..<users { tokens.append(try await (index.isMultiple(of: 2) ? a : b).register("fan\(index)")) }
            let ports = [try #require(a.port), try #require(b.port)]
            // Everyone favorites at once, half through each instance, while both instances read.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, token) in tokens.enumerated() {
                    group.addTask {
                        let connection = TestClient(host: "127.0.0.1", port: ports[index % 2])
                        connection.connect()
                        defer { Task { try? await connection.shutdown() } }
                        let response = try await connection.post(
                            "/api/articles/\(slug)/favorite", headers: [.authorization: "Token \(token)"], body: ByteBuffer()
                        )
                        #expect(response.head.status == .ok)
                        _ = try await connection.get("/api/articles/\(slug)")
                    }
                }
                try await group.waitForAll()
            }
            for client in [a, b] {
                let article = try await client.eventually("/api/articles/\(slug)") { $0["article"]["favoritesCount"].int == users }
                #expect(article["article"]["favoritesCount"].int == users)
                let listed = JSON(try await client.send(.get, "/api/articles?limit=1"))
                #expect(listed["articles"][0]["favoritesCount"].int == users)
            }
            // The favorites on the users' shards, and their mirror on the article's.
            var stored = 0
            for node in harnessA.database.nodes {
                stored += try await node.read { db in try await db.first("SELECT COUNT(*) FROM favorites")?.decode(at: 0, as: Int.self) } ?? 0
            }
            #expect(stored == users)
            let articleID = try #require(Slug.id(in: slug))
            #expect(try await mirrorCount(.favorite, target: articleID, in: harnessA.database) == users)
        }
    }

    /// Redis killed under load: no request fails because of it, and everything recovers.
    @Test func aRedisOutageUnderLoadFailsNoRequest() async throws {
        let server = try RedisServerProcess()
        let conduit = try await TestConduit.make([
            "redis.url": .init(.string(server.url), isSecret: true),
            "ratelimit.enabled": .init(.bool(true), isSecret: false),
            "ratelimit.read.per.minute": .init(.int(1_000_000), isSecret: false),
            "ratelimit.write.per.minute": .init(.int(1_000_000), isSecret: false),
            "ratelimit.auth.per.minute": .init(.int(1_000_000), isSecret: false),
        ])
        try await conduit.testPair { a, b, harnessA, harnessB in
            try await harnessA.waitForRedis()
            try await harnessB.waitForRedis()
            let token = try await a.register("author")
            let slug = try await a.createArticle(token, title: "Steady")
            let ports = [try #require(a.port), try #require(b.port)]
            let load = LoadState()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        let connection = TestClient(host: "127.0.0.1", port: ports[worker % 2])
                        connection.connect()
                        defer { Task { try? await connection.shutdown() } }
                        var round = 0
                        while !load.stop.load(ordering: .relaxed) {
                            round += 1
                            let response: TestClient.Response
                            if worker == 0, round.isMultiple(of: 5) {
                                response = try await connection.put(
                                    "/api/articles/\(slug)", headers: [.authorization: "Token \(token)", .contentType: "application/json"],
                                    body: ByteBuffer(string: #"{"article":{"body":"round \#(round)"}}"#)
                                )
                            } else {
                                response = try await connection.get(["/api/articles/\(slug)", "/api/articles", "/api/tags", "/api/profiles/author"][round % 4])
                            }
                            load.requests.add(1, ordering: .relaxed)
                            if response.head.status.code >= 300 { load.failures.withLock { $0.append("\(response.head.status.code)") } }
                        }
                    }
                }
                // The phases are counted in requests, not time: a busy machine makes them
                // longer, never emptier.
                group.addTask {
                    defer { load.stop.store(true, ordering: .relaxed) }
                    try await load.waitForMore(50)
                    server.stop()
                    try await load.waitForMore(150)
                    try server.start()
                    try await harnessA.waitForRedis()
                    try await harnessB.waitForRedis()
                    try await load.waitForMore(50)
                }
                try await group.waitForAll()
            }
            let failed = load.failures.withLock { $0 }
            #expect(failed.isEmpty, "failed requests: \(failed.prefix(10))")
            // After recovery, a write on A is read on B: at once once A's Redis breaker has
            // closed again; while it is still half-open its publish may be refused, and the
            // invalidation's job then delivers it within a second or two.
            let update = try await a.send(.put, "/api/articles/\(slug)", token: token, json: #"{"article":{"body":"after"}}"#)
            #expect(update.status == .ok, "\(update.status) \(String(buffer: update.body))")
            let read = try await b.eventually("/api/articles/\(slug)", within: .seconds(10)) { $0["article"]["body"].string == "after" }
            #expect(read["article"]["body"].string == "after")
        }
    }
}

/// What the load in the outage test shares between its workers.
final class LoadState: Sendable {
    let failures = Mutex<[String]>([])
    let requests = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)

    /// Waits until `count` more requests are answered; throws if they take a minute.
    func waitForMore(_ count: Int) async throws {
        let target = requests.load(ordering: .relaxed) + count
        let deadline = ContinuousClock.now + .seconds(60)
        while requests.load(ordering: .relaxed) < target {
            guard ContinuousClock.now < deadline else { throw LoadStalled(answered: requests.load(ordering: .relaxed), expected: target) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    struct LoadStalled: Error {
        let answered: Int
        let expected: Int
    }
}
