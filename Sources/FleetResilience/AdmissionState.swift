/// The API limiter's two decisions taken together, without clocks, locks or tasks: a
/// call is refused when it waited too long in a standing queue (`QueueDelayState`), else
/// when the concurrency limit is full (`AdaptiveLimiterState`). A standing queue also
/// counts against the limit, since the process is saturated even if the calls it admits
/// stay fast.
public struct AdmissionState: Sendable {
    public enum Decision: Sendable, Equatable {
        case admitted
        /// The concurrency limit (or the share of it the call may use) is full.
        case refusedAtLimit
        /// The call waited past the queue's bound while a queue stands.
        case refusedLate
    }

    public private(set) var limit: AdaptiveLimiterState
    public private(set) var queue: QueueDelayState?

    public init(limit: AdaptiveLimiterState, queue: QueueDelayState?) {
        self.limit = limit
        self.queue = queue
    }

    /// Decides on one call: `share` of the limit's slots it may take, `allowance` on the
    /// queue's bound, `waited` before it asked (nil: unknown, the queue is not consulted).
    public mutating func admit(share: Double, allowance: Double, waited: Duration?, now: ContinuousClock.Instant) -> Decision {
        if let waited, var queue {
            let onTime = queue.admit(waited: waited, allowance: allowance, now: now)
            self.queue = queue
            if queue.standing { limit.queueStanding() }
            if !onTime { return .refusedLate }
        }
        return limit.tryAcquire(share: share) ? .admitted : .refusedAtLimit
    }

    /// Ends an admitted call (see `AdaptiveLimiterState.release`).
    public mutating func release(_ outcome: AdaptiveLimiterState.Outcome, now: ContinuousClock.Instant) -> Double? {
        limit.release(outcome, now: now)
    }
}
