@testable import FleetApp
import FleetTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// With Redis, each instance's ops page lists every instance that shares it.
@Suite(.enabled(if: RedisServerProcess.enabled, "needs redis-server"))
struct OpsInstancesTests {
    @Test func instancesSeeEachOtherThroughRedis() async throws {
        let server = try RedisServerProcess()
        try await TestConduit.make(["redis.url": .init(.string(server.url), isSecret: true)]).testPair { a, _, harnessA, harnessB in
            try await harnessA.waitForRedis()
            try await harnessB.waitForRedis()
            _ = try await a.send(.get, "/api/tags")
            let boardA = try #require(harnessA.fleet.ops)
            let boardB = try #require(harnessB.fleet.ops)
            var samplerA = OpsSampler()
            var samplerB = OpsSampler()
            await boardA.sample(with: &samplerA)
            await boardB.sample(with: &samplerB)
            let data = await boardA.data()
            #expect(Set(data.instances.map(\.id)) == [boardA.identity.id, boardB.identity.id])
            #expect(data.instances.first { $0.id == boardA.identity.id }?.rate ?? 0 > 0)
            #expect(data.redis.configured && data.redis.connected && data.redis.pingMilliseconds != nil)
            #expect(data.caches.contains { $0.layer == "l2" })
            #expect(data.breakers.contains { $0.name == "redis" && $0.state == "closed" })
        }
    }
}
