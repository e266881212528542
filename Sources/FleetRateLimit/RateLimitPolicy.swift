import FleetSupport

/// `quota` requests per `window`, refilled smoothly: one every `window / quota`, and at
/// most `quota` in a burst. That is GCRA (the generic cell rate algorithm), which needs a
/// single number per key (the theoretical arrival time) instead of a window of timestamps.
public struct RateLimitPolicy: Sendable, Hashable {
    /// Names the policy in keys, metrics and the `RateLimit-Policy` header.
    public var name: String
    public var quota: Int
    public var window: Duration

    public init(name: String, quota: Int, window: Duration) {
        precondition(quota > 0 && window > .zero, "a rate limit needs a positive quota and window")
        self.name = name
        self.quota = quota
        self.window = window
    }

    /// Microseconds between two requests at the sustained rate.
    var intervalMicroseconds: Int64 { max(1, window.inMicroseconds / Int64(quota)) }
}

/// The outcome of one request against a policy.
public struct RateLimitDecision: Sendable, Equatable {
    public var allowed: Bool
    /// Requests that could still be made right now.
    public var remaining: Int
    /// When refused: how long until one request would be allowed.
    public var retryAfter: Duration
    /// How long until the full quota is available again.
    public var reset: Duration
}

/// GCRA on one key: given the stored theoretical arrival time, decides and returns the
/// new one (nil when refused, which leaves the state unchanged).
enum GCRA {
    static func decide(tat stored: Int64?, now: Int64, policy: RateLimitPolicy) -> (RateLimitDecision, newTAT: Int64?) {
        let interval = policy.intervalMicroseconds
        let tat = max(stored ?? now, now)
        let newTAT = tat + interval
        let allowAt = newTAT - Int64(policy.quota) * interval
        if now < allowAt {
            return (RateLimitDecision(allowed: false, remaining: 0, retryAfter: .microseconds(allowAt - now), reset: .microseconds(tat - now)), nil)
        }
        let remaining = Int((now - allowAt) / interval)
        return (RateLimitDecision(allowed: true, remaining: remaining, retryAfter: .zero, reset: .microseconds(newTAT - now)), newTAT)
    }
}
