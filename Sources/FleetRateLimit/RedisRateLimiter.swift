public import FleetRedis
public import Logging
import Metrics

/// GCRA in Redis, shared by every instance: one atomic script per request, on Redis's
/// clock (so instances' clocks need not agree). When Redis fails, the local limiter
/// decides instead, and Redis takes over again as soon as it answers. Whether Redis is
/// failing is the Redis client's circuit breaker's call (it logs the changes); while it is
/// open, the fallback decides without waiting for a command to time out.
public final class RedisRateLimiter: RateLimiter {
    private let redis: RedisClient
    private let fallback: LocalRateLimiter
    private let logger: Logger
    private let fallbacks = Counter(label: "ratelimit.fallback.total")

    public init(redis: RedisClient, fallback: LocalRateLimiter = LocalRateLimiter(), logger: Logger) {
        self.redis = redis
        self.fallback = fallback
        self.logger = logger
    }

    static let script = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local interval = tonumber(ARGV[1])
        local quota = tonumber(ARGV[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or now)
        if tat < now then tat = now end
        local new_tat = tat + interval
        local allow_at = new_tat - quota * interval
        if now < allow_at then
          return {0, 0, allow_at - now, tat - now}
        end
        redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
        return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
        """
    )

    public func check(_ key: String, policy: RateLimitPolicy) async -> RateLimitDecision {
        do {
            let reply = try await redis.run(
                Self.script, keys: [.string("fleet:rl:" + key)],
                arguments: [.integer(Int(policy.intervalMicroseconds)), .integer(policy.quota)]
            )
            guard let fields = reply.array, fields.count == 4, let allowed = fields[0].int, let remaining = fields[1].int,
                let retry = fields[2].int, let reset = fields[3].int
            else { throw RedisError.protocolError("rate limit reply") }
            return RateLimitDecision(allowed: allowed == 1, remaining: remaining, retryAfter: .microseconds(retry), reset: .microseconds(reset))
        } catch {
            fallbacks.increment()
            logger.debug("rate limit decided per instance: Redis failed", metadata: ["error": "\(error)"])
            return await fallback.check(key, policy: policy)
        }
    }
}
