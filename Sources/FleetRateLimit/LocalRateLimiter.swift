import Synchronization

/// GCRA in this process's memory: exact for one instance, and the fallback of the Redis
/// limiter (each instance then enforces the quota on its own share of the traffic).
public final class LocalRateLimiter: RateLimiter {
    private let state = Mutex<[String: Int64]>([:])
    private let origin = ContinuousClock.now
    /// Above this many keys, keys whose quota is full again (equivalent to absent) are swept.
    private let sweepThreshold: Int

    public init(sweepThreshold: Int = 100_000) {
        self.sweepThreshold = sweepThreshold
    }

    public func check(_ key: String, policy: RateLimitPolicy) async -> RateLimitDecision {
        let now = (ContinuousClock.now - origin).microseconds
        return state.withLock { state in
            let (decision, newTAT) = GCRA.decide(tat: state[key], now: now, policy: policy)
            if let newTAT { state[key] = newTAT }
            if state.count > sweepThreshold { state = state.filter { $0.value > now } }
            return decision
        }
    }

    var keyCount: Int { state.withLock { $0.count } }
}
