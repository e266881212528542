import Metrics
import Synchronization

/// Admits calls through an adaptive concurrency limit (`AdaptiveLimiterState`): a call
/// past the limit is refused at once rather than queued. Calls carry a priority: `.low`
/// calls may take only `lowShare` of the slots, so that when load is shed the
/// important calls (writes, signed-in readers) are the last to be refused.
///
/// With a `QueueDelayState.Policy`, a call also says how long it waited before it could
/// ask (`waited`), and one that waited too long in a standing queue is refused too: the
/// concurrency limit cannot see a queue in front of it. `.high` calls may wait
/// `highAllowance` times as long.
///
/// Metrics: `fleet.limiter.limit` and `fleet.limiter.in_flight` gauges,
/// `fleet.limiter.calls` (`result` = admitted or refused, `priority`) and
/// `fleet.limiter.late` (refused for their wait), each with `name`.
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
    public let highAllowance: Double
    private let state: Mutex<AdmissionState>
    private let limitGauge: Gauge
    private let inFlightGauge: Gauge
    private let lateCounter: Counter
    private let counters: [String: Counter]

    public init(
        name: String, policy: AdaptiveLimitPolicy = .init(), queue: QueueDelayState.Policy? = nil, lowShare: Double = 0.75, highAllowance: Double = 2
    ) {
        self.name = name
        self.lowShare = lowShare
        self.highAllowance = highAllowance
        self.state = Mutex(AdmissionState(limit: AdaptiveLimiterState(policy: policy), queue: queue.map(QueueDelayState.init(policy:))))
        self.limitGauge = Gauge(label: "fleet.limiter.limit", dimensions: [("name", name)])
        self.inFlightGauge = Gauge(label: "fleet.limiter.in_flight", dimensions: [("name", name)])
        self.lateCounter = Counter(label: "fleet.limiter.late", dimensions: [("name", name)])
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
    /// - Parameter waited: how long the call waited before it could ask, when known.
    public func tryAcquire(_ priority: Priority, waited: Duration? = nil) -> Ticket? {
        let share = priority == .high ? 1 : lowShare
        let allowance = priority == .high ? highAllowance : 1
        let now = ContinuousClock.now
        let (decision, inFlight) = state.withLock { state in
            (state.admit(share: share, allowance: allowance, waited: waited, now: now), state.limit.inFlight)
        }
        counters[(decision == .admitted ? "admitted" : "refused") + priority.rawValue]?.increment()
        if decision == .refusedLate { lateCounter.increment() }
        guard decision == .admitted else { return nil }
        inFlightGauge.record(inFlight)
        return Ticket(started: now)
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
        let (changed, inFlight) = state.withLock { state in (state.release(sample, now: now), state.limit.inFlight) }
        inFlightGauge.record(inFlight)
        if let changed { limitGauge.record(changed) }
    }

    public enum Outcome: Sendable {
        case success
        case dropped
        case ignored
    }

    /// The current limit and calls in flight (for the ops page).
    public var current: (limit: Double, inFlight: Int) { state.withLock { ($0.limit.limit, $0.limit.inFlight) } }
}
