/// Decides whether a request under `key` may proceed now.
public protocol RateLimiter: Sendable {
    func check(_ key: String, policy: RateLimitPolicy) async -> RateLimitDecision
}
