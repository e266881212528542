import FleetRedis
import FleetTestSupport
import Logging
import Testing

@testable import FleetRateLimit

@Suite struct GCRATests {
    let policy = RateLimitPolicy(name: "p", quota: 5, window: .seconds(1))

    @Test func allowsTheQuotaInABurstThenOneEveryInterval() {
        var tat: Int64?
        var remaining: [Int] = []
        for _ in 0..<5 {
            let (decision, newTAT) = GCRA.decide(tat: tat, now: 0, policy: policy)
            #expect(decision.allowed)
            remaining.append(decision.remaining)
            tat = newTAT
        }
        #expect(remaining == [4, 3, 2, 1, 0])
        let (refused, unchanged) = GCRA.decide(tat: tat, now: 0, policy: policy)
        #expect(!refused.allowed && unchanged == nil)
        #expect(refused.retryAfter == .milliseconds(200))
        // One interval later, exactly one more request fits.
        #expect(GCRA.decide(tat: tat, now: 200_000, policy: policy).0.allowed)
        #expect(!GCRA.decide(tat: tat, now: 199_999, policy: policy).0.allowed)
        // After a whole window of silence the full quota is back.
        #expect(GCRA.decide(tat: tat, now: 1_000_000, policy: policy).0.remaining == 4)
    }

    @Test func localLimiterKeepsKeysApartAndSweepsIdleOnes() async {
        let limiter = LocalRateLimiter(sweepThreshold: 10)
        for _ in 0..<5 { #expect(await limiter.check("a", policy: policy).allowed) }
        #expect(await !limiter.check("a", policy: policy).allowed)
        #expect(await limiter.check("b", policy: policy).allowed)
        let tiny = RateLimitPolicy(name: "t", quota: 1000, window: .milliseconds(1))
        for key in 0..<50 { _ = await limiter.check("k\(key)", policy: tiny) }
        #expect(limiter.keyCount < 50)
    }
}

@Suite(.enabled(if: RedisServerProcess.enabled, "needs redis-server"))
struct RedisRateLimiterTests {
    let logger = Logger(label: "test")

    @Test func instancesShareOneQuotaAndFallBackLocallyWhenRedisIsDown() async throws {
        let server = try RedisServerProcess()
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        // Only the outage below may send a check to the local fallback, not a command
        // slowed past its timeout by a busy machine.
        configuration.commandTimeout = .seconds(10)
        configuration.connectTimeout = .seconds(10)
        let first = RedisClient(configuration, logger: logger)
        let second = RedisClient(configuration, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await first.run() }
            group.addTask { try await second.run() }
            defer { group.cancelAll() }
            try await first.waitUntilConnected()
            try await second.waitUntilConnected()
            let a = RedisRateLimiter(redis: first, logger: logger)
            let b = RedisRateLimiter(redis: second, logger: logger)
            // An hour's window: however slow the machine, no request is refilled meanwhile.
            let policy = RateLimitPolicy(name: "shared", quota: 10, window: .seconds(3600))
            var allowed = 0
            for round in 0..<30 {
                let decision = await (round.isMultiple(of: 2) ? a : b).check("client", policy: policy)
                if decision.allowed { allowed += 1 } else { #expect(decision.retryAfter > .zero && decision.retryAfter <= .seconds(360)) }
            }
            #expect(allowed == 10, "one quota across both instances")

            server.stop()
            // Redis is gone: each instance limits on its own, and nothing throws.
            var localAllowed = 0
            for _ in 0..<15 where await a.check("client", policy: policy).allowed { localAllowed += 1 }
            #expect(localAllowed == 10)

            try server.start()
            try await first.waitUntilConnected(timeout: .seconds(10))
            // A fresh server forgot the old state: the shared quota starts over.
            var afterRestart = 0
            for _ in 0..<15 where await a.check("client2", policy: policy).allowed { afterRestart += 1 }
            #expect(afterRestart == 10)
        }
    }
}
