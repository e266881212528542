import FleetSupport

/// An adaptive concurrency limit in the manner of Netflix's Gradient2, without clocks,
/// locks or tasks: how many calls may run at once is not configured but found, by
/// comparing recent latency with long-term latency. While latency holds, the limit grows
/// by a small queue allowance (the square root of the limit); when recent latency rises
/// past `tolerance` times the long-term one, queueing has started and the limit shrinks
/// in proportion. Callers past the limit are refused at once, which keeps the latency of
/// the admitted ones close to the unloaded latency instead of letting a queue grow.
///
/// Calls end in one of three ways, handled explicitly: a success gives a latency sample;
/// a drop (the call timed out or was refused downstream) shrinks the limit by
/// `dropFactor` at the end of the window; an ignored call (cancelled by its client, whose
/// latency says nothing of ours) only frees its slot.
///
/// While fewer than half the slots are in use the limit does not grow: an idle service
/// has not shown it can take more (Gradient2's "app-limited" rule).
public struct AdaptiveLimiterState: Sendable {
    public enum Outcome: Sendable, Equatable {
        case success(Duration)
        case dropped
        case ignored
    }

    public let policy: AdaptiveLimitPolicy
    public private(set) var limit: Double
    public private(set) var inFlight = 0
    /// The long-term latency in seconds (an exponential average of window averages).
    public private(set) var longLatency: Double?

    private var windowStart: ContinuousClock.Instant?
    private var windowSum = 0.0
    private var windowCount = 0
    private var windowDropped = false
    private var windowPeak = 0

    public init(policy: AdaptiveLimitPolicy = .init()) {
        self.policy = policy
        self.limit = policy.initialLimit
    }

    /// Admits a call when fewer than `share` of the limit's slots are taken (a share
    /// below 1 keeps the rest for more important calls); false means refuse it now.
    public mutating func tryAcquire(share: Double = 1) -> Bool {
        let slots = max(1, Int((limit * share).rounded(.down)))
        guard inFlight < slots else { return false }
        inFlight += 1
        windowPeak = max(windowPeak, inFlight)
        return true
    }

    /// Says that calls queue in front of the limit (a standing queue, `QueueDelayState`):
    /// the process is saturated, so this window counts as one with a drop and the limit
    /// shrinks by `dropFactor` when it ends.
    public mutating func queueStanding() {
        windowDropped = true
    }

    /// Ends an admitted call; returns the new limit when this closed a window and changed it.
    @discardableResult
    public mutating func release(_ outcome: Outcome, now: ContinuousClock.Instant) -> Double? {
        inFlight = max(0, inFlight - 1)
        switch outcome {
        case .ignored:
            return nil
        case .dropped:
            windowDropped = true
        case .success(let latency):
            windowSum += latency.inSeconds
            windowCount += 1
        }
        let start = windowStart ?? now
        windowStart = start
        guard now - start >= policy.windowDuration, windowCount >= policy.windowSamples || windowDropped else { return nil }
        return closeWindow(now: now)
    }

    private mutating func closeWindow(now: ContinuousClock.Instant) -> Double? {
        defer {
            windowStart = now
            windowSum = 0
            windowCount = 0
            windowDropped = false
            windowPeak = inFlight
        }
        let previous = limit
        if windowDropped {
            limit = max(policy.minimumLimit, limit * policy.dropFactor)
            return limit == previous ? nil : limit
        }
        let short = windowSum / Double(windowCount)
        let alpha = 2 / (policy.longWindows + 1)
        var long = longLatency.map { $0 + alpha * (short - $0) } ?? short
        // After a long overload the average has crept up; once latency is back well below
        // it, it falls faster, so that the next overload is judged against a fresh base.
        if long / short > 2 { long = (long + short) / 2 }
        longLatency = long
        guard Double(windowPeak) >= limit / 2 else { return nil }
        let gradient = min(1, max(0.5, policy.tolerance * long / short))
        let estimate = limit * gradient + limit.squareRoot()
        limit = min(policy.maximumLimit, max(policy.minimumLimit, limit * (1 - policy.smoothing) + estimate * policy.smoothing))
        return limit == previous ? nil : limit
    }
}
