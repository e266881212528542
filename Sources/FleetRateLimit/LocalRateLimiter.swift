import FleetSupport
import Synchronization

/// GCRA in this process's memory: exact for one instance, and the fallback of the Redis
/// limiter (each instance then enforces the quota on its own share of the traffic).
public final class LocalRateLimiter: RateLimiter {
    private let state = Mutex<(tats: [String: Int64], lastSweep: Int64)>(([:], Int64.min / 2))
    private let origin = ContinuousClock.now
    /// Above this many keys, keys whose quota is full again (equivalent to absent) are swept.
    private let sweepThreshold: Int

    public init(sweepThreshold: Int = 100_000) {
        self.sweepThreshold = sweepThreshold
    }

    public func check(_ key: String, policy: RateLimitPolicy) async -> RateLimitDecision {
        let now = (ContinuousClock.now - origin).inMicroseconds
        return state.withLock { state in
            let (decision, newTAT) = GCRA.decide(tat: state.tats[key], now: now, policy: policy)
            if let newTAT { state.tats[key] = newTAT }
            // At most once a second, so a flood of new keys cannot make every call sweep.
            if state.tats.count > sweepThreshold, now - state.lastSweep > 1_000_000 {
                state.tats = state.tats.filter { $0.value > now }
                state.lastSweep = now
            }
            return decision
        }
    }

    var keyCount: Int { state.withLock { $0.tats.count } }
}
