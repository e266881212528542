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
            let boardA = try #require(harnessA.fleet.ops)
            let boardB = try #require(harnessB.fleet.ops)
            var samplerA = OpsSampler()
            var samplerB = OpsSampler()
            // Each sample publishes a heartbeat that lives a few seconds; on a busy test
            // machine one can lapse before the other board reads it (as in production,
            // where the next sample renews it), so sample again, after a request for A's
            // rate, until both are seen or time runs out.
            var data: OpsData
            let deadline = ContinuousClock.now + .seconds(20)
            repeat {
                // Traffic since the last sample, for A's rate.
                _ = try await a.send(.get, "/api/tags")
                await boardA.sample(with: &samplerA)
                await boardB.sample(with: &samplerB)
                data = await boardA.data()
            } while data.instances.count < 2 && ContinuousClock.now < deadline
            #expect(Set(data.instances.map(\.id)) == [boardA.identity.id, boardB.identity.id])
            #expect(data.instances.first { $0.id == boardA.identity.id }?.rate ?? 0 > 0)
            #expect(data.redis.configured && data.redis.connected && data.redis.pingMilliseconds != nil)
            #expect(data.caches.contains { $0.layer == "l2" })
            #expect(data.breakers.contains { $0.name == "redis" && $0.state == "closed" })
        }
    }
}
