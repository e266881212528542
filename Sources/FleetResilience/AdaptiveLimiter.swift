import Metrics
import Synchronization

/// Admits calls through an adaptive concurrency limit (`AdaptiveLimiterState`): a call
/// past the limit is refused at once rather than queued. Calls carry a priority: `.low`
/// calls may take only `lowShare` of the slots, so that when load is shed the
/// important calls (writes, signed-in readers) are the last to be refused.
///
/// Metrics: `fleet.limiter.limit` and `fleet.limiter.in_flight` gauges and
/// `fleet.limiter.calls` (`result` = admitted or refused, `priority`), each with `name`.
public final class AdaptiveLimiter: Sendable {
    public enum Priority: String, Sendable {
        case high
        case low
    }

    /// A slot, given back with `release` exactly once.
    public struct Ticket: Sendable {
        fileprivate let started: ContinuousClock.Instant
    }

    public let name: String
    public let lowShare: Double
    private let state: Mutex<AdaptiveLimiterState>
    private let limitGauge: Gauge
    private let inFlightGauge: Gauge
    private let counters: [String: Counter]

    public init(name: String, policy: AdaptiveLimitPolicy = .init(), lowShare: Double = 0.75) {
        self.name = name
        self.lowShare = lowShare
        self.state = Mutex(AdaptiveLimiterState(policy: policy))
        self.limitGauge = Gauge(label: "fleet.limiter.limit", dimensions: [("name", name)])
        self.inFlightGauge = Gauge(label: "fleet.limiter.in_flight", dimensions: [("name", name)])
        var counters: [String: Counter] = [:]
        for result in ["admitted", "refused"] {
            for priority in [Priority.high, .low] {
                counters[result + priority.rawValue] = Counter(
                    label: "fleet.limiter.calls", dimensions: [("name", name), ("result", result), ("priority", priority.rawValue)]
                )
            }
        }
        self.counters = counters
        limitGauge.record(policy.initialLimit)
    }

    /// A ticket when the call may run now, nil when it must be refused.
    public func tryAcquire(_ priority: Priority) -> Ticket? {
        let share = priority == .high ? 1 : lowShare
        let (admitted, inFlight) = state.withLock { state in (state.tryAcquire(share: share), state.inFlight) }
        counters[(admitted ? "admitted" : "refused") + priority.rawValue]?.increment()
        guard admitted else { return nil }
        inFlightGauge.record(inFlight)
        return Ticket(started: .now)
    }

    /// Ends a call: `.success` measures it, `.dropped` counts against the limit,
    /// `.ignored` (cancelled) only frees the slot.
    public func release(_ ticket: Ticket, _ outcome: Outcome) {
        let now = ContinuousClock.now
        let sample: AdaptiveLimiterState.Outcome
        switch outcome {
        case .success: sample = .success(now - ticket.started)
        case .dropped: sample = .dropped
        case .ignored: sample = .ignored
        }
        let (changed, inFlight) = state.withLock { state in (state.release(sample, now: now), state.inFlight) }
        inFlightGauge.record(inFlight)
        if let changed { limitGauge.record(changed) }
    }

    public enum Outcome: Sendable {
        case success
        case dropped
        case ignored
    }

    /// The current limit and calls in flight (for the ops page).
    public var current: (limit: Double, inFlight: Int) { state.withLock { ($0.limit, $0.inFlight) } }
}
