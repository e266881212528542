import FleetSupport

/// When a failed job runs again: exponential backoff with full jitter (a uniformly random
/// delay between zero and the exponential bound), so that jobs failing together do not
/// come back together. After `maxAttempts` the job is dead. A pure function of its inputs.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// The bound for the first retry; it doubles with each attempt, up to `cap`.
    public var base: Duration
    public var cap: Duration

    public init(maxAttempts: Int = 20, base: Duration = .seconds(1), cap: Duration = .seconds(3600)) {
        self.maxAttempts = max(1, maxAttempts)
        self.base = base
        self.cap = max(base, cap)
    }

    /// What follows the failure of attempt `attempt` (1-based): a retry after a delay, or
    /// the dead state. `random` is uniform in 0..<1 (injected, so tests decide it).
    public func afterFailure(attempt: Int, random: Double) -> Decision {
        guard attempt < maxAttempts else { return .dead }
        return .retry(after: bound(attempt: attempt) * min(max(random, 0), 1))
    }

    /// The exponential bound after attempt `attempt`: base × 2^(attempt − 1), at most `cap`.
    public func bound(attempt: Int) -> Duration {
        let doublings = min(max(attempt - 1, 0), 62)
        return .seconds(min(cap.inSeconds, base.inSeconds * Double(sign: .plus, exponent: doublings, significand: 1)))
    }

    public enum Decision: Sendable, Equatable {
        case retry(after: Duration)
        case dead
    }
}
