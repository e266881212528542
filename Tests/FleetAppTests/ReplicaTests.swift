import Configuration
import FleetData
import FleetTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

let testReplicaURL = ProcessInfo.processInfo.environment["FLEET_TEST_POSTGRES_REPLICA_URL"]

/// A primary and a streaming replica (`FLEET_TEST_POSTGRES_REPLICA_URL`, a replica of the
/// server in `FLEET_TEST_POSTGRES_URL`, which the test command starts with pg_basebackup).
@Suite(.enabled(if: testReplicaURL != nil && RedisServerProcess.enabled, "needs a PostgreSQL replica and redis-server"))
struct ReplicaTests {
    static let replicaURL = testReplicaURL

    /// The same database on the replica.
    static func replica(of primaryURL: String) throws -> String {
        let base = try #require(replicaURL)
        guard let slash = base.lastIndex(of: "/"), let name = primaryURL.split(separator: "/").last else { throw DatabaseError.failed("bad url") }
        return base[..<slash] + "/" + name
    }

    /// Runs SQL on the replica itself (to pause and resume its replay).
    static func onReplica(_ url: String, _ sql: String) async throws {
        let replica = PostgresDatabase(try PostgresDatabase.Configuration(url: url), logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await replica.run() }
            defer { group.cancelAll() }
            try await replica.read { try await $0.execute(SQLQuery(unsafeSQL: sql)) }
        }
    }

    static func readsServed(_ harness: TestConduit.Harness) throws -> (primary: Int, replicas: Int) {
        try #require(harness.database.nodes[0].base as? ReplicatedDatabase).readsServed
    }

    @Test func aUsersWritesAreReadBackOnAnyInstanceWhileOthersReadTheReplica() async throws {
        let server = try RedisServerProcess()
        let plain = try await TestConduit.make()
        let primaryURL = try #require(plain.settings.databaseURL)
        let replicaURL = try Self.replica(of: primaryURL)
        let conduit = try await TestConduit.make([
            "database.url": .init(.string(primaryURL), isSecret: true),
            "database.replica.urls": .init(.string(replicaURL), isSecret: true),
            "database.replica.max.lag.ms": .init(.int(60_000), isSecret: false),
            "redis.url": .init(.string(server.url), isSecret: true),
        ])
        try await conduit.testPair { a, b, harnessA, harnessB in
            try await harnessA.waitForRedis()
            try await harnessB.waitForRedis()
            let bob = try await a.register("bob")
            let slug = try await a.createArticle(bob, title: "From bob")
            let alice = try await a.register("alice")
            let carol = try await a.register("carol")
            #expect(try await a.send(.post, "/api/profiles/bob/follow", token: carol).status == .ok)
            // Each client from its own address (behind the trusted loopback proxy): positions
            // are kept per user and per address.
            let fromAlice: HTTPFields = [.init("X-Forwarded-For")!: "198.51.100.1"]
            let fromCarol: HTTPFields = [.init("X-Forwarded-For")!: "198.51.100.2"]
            // Wait until B reads from the replica (it has caught up with the setup).
            var ready = false
            for _ in 0..<100 where !ready {
                let before = try Self.readsServed(harnessB).replicas
                _ = try await b.send(.get, "/api/articles/feed", token: carol, headers: fromCarol)
                ready = try Self.readsServed(harnessB).replicas > before
                if !ready { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(ready, "the replica never became usable")

            try await Self.onReplica(replicaURL, "SELECT pg_wal_replay_pause()")
            defer { Task { try? await Self.onReplica(replicaURL, "SELECT pg_wal_replay_resume()") } }

            // Alice writes through A; through B she reads it at once, from the primary.
            #expect(try await a.send(.post, "/api/profiles/bob/follow", token: alice, headers: fromAlice).status == .ok)
            #expect(try await a.send(.post, "/api/articles/\(slug)/favorite", token: alice, headers: fromAlice).status == .ok)
            let beforeAlice = try Self.readsServed(harnessB)
            let feed = JSON(try await b.send(.get, "/api/articles/feed", token: alice, headers: fromAlice))
            #expect(feed["articlesCount"].int == 1, "alice's follow, written through A, must show in her feed through B")
            let article = JSON(try await b.send(.get, "/api/articles/\(slug)", token: alice, headers: fromAlice))
            #expect(article["article"]["favorited"].bool == true)
            #expect(article["article"]["author"]["following"].bool == true)
            let afterAlice = try Self.readsServed(harnessB)
            #expect(afterAlice.primary > beforeAlice.primary)

            // Carol wrote nothing since: her reads still go to the paused replica.
            let carolFeed = JSON(try await b.send(.get, "/api/articles/feed", token: carol, headers: fromCarol))
            #expect(carolFeed["articlesCount"].int == 1)
            let afterCarol = try Self.readsServed(harnessB)
            let topology = try #require(harnessB.database.nodes[0].base as? ReplicatedDatabase).topology
            #expect(afterCarol.replicas > afterAlice.replicas, "reads \(afterAlice) then \(afterCarol); nodes \(topology)")
            try await Self.onReplica(replicaURL, "SELECT pg_wal_replay_resume()")
        }
    }

    @Test func aReplicaThatIsDownIsSkipped() async throws {
        let conduit = try await TestConduit.make([
            // Nothing listens there.
            "database.replica.urls": .init(.string("postgres://fleet@127.0.0.1:9/none"), isSecret: true)
        ])
        try await conduit.test(.live) { client, harness in
            let token = try await client.register("writer")
            _ = try await client.createArticle(token, title: "Still works")
            for _ in 0..<10 {
                #expect(try await client.send(.get, "/api/articles/feed", token: token).status == .ok)
                #expect(try await client.send(.get, "/api/articles").status == .ok)
            }
            #expect(try Self.readsServed(harness).replicas == 0)
        }
    }
}
