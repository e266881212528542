@testable import FleetApp
import FleetData
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// On a PostgreSQL shard with a streaming replica, the page names the primary and the
/// replica with their health and lag, and the pool's connections.
@Suite(.enabled(if: testReplicaURL != nil, "needs a PostgreSQL replica"))
struct OpsReplicaTests {
    @Test func shardsShowTheirPrimaryAndReplica() async throws {
        let plain = try await TestConduit.make()
        let primaryURL = try #require(plain.settings.databaseURL)
        let conduit = try await TestConduit.make([
            "database.url": .init(.string(primaryURL), isSecret: true),
            "database.replica.urls": .init(.string(try ReplicaTests.replica(of: primaryURL)), isSecret: true),
            "database.replica.max.lag.ms": .init(.int(60_000), isSecret: false),
        ])
        try await conduit.test { client, harness in
            _ = try await client.register("opsreplica")
            _ = try await client.send(.get, "/api/tags")
            let replicated = try #require(harness.database.nodes[0].base as? ReplicatedDatabase)
            try await harness.fleet.admin.test(.router) { admin in
                var data: OpsData?
                // The tracker probes every 100 ms. The test's database is new: until the replica
                // has replayed its creation, connections to it fail and open its breaker, which
                // closes a second or so later, once its half-open probes succeed. Wait for that.
                func settled(_ data: OpsData?) -> Bool {
                    guard let nodes = data?.shards.first?.nodes else { return false }
                    return nodes.map(\.role) == ["primary", "replica"] && nodes.allSatisfy { $0.health == "up" && $0.breaker == "closed" && $0.lagMilliseconds < 60_000 }
                }
                let deadline = ContinuousClock.now + .seconds(20)
                repeat {
                    data = try JSONDecoder().decode(OpsData.self, from: Data(try await admin.execute(uri: "/ops/data", method: .get).body.readableBytesView))
                    if settled(data) { break }
                    try await Task.sleep(for: .milliseconds(100))
                } while ContinuousClock.now < deadline
                let shard = try #require(data?.shards.first)
                #expect(shard.system == "postgresql")
                #expect(shard.nodes.map(\.address) == replicated.nodes.map(\.address))
                #expect(settled(data), "nodes: \(shard.nodes)")
                let pool = try #require(data?.pools.first)
                #expect(pool.max == 2 * conduit.settings.databasePoolMax)
                #expect(pool.open > 0)
                #expect(data?.breakers.filter { $0.name.hasPrefix("postgres.shard0.") }.count == 2)
            }
        }
    }
}
