/// The decisions of a circuit breaker, without clocks, locks or tasks (the async shell,
/// `CircuitBreaker`, passes the time in and acts on what this says).
///
/// - **Closed**: calls run; their outcomes fill a window; once the window holds
///   `minimumCalls` and the failure or slow-call rate reaches its threshold, it opens.
/// - **Open**: calls are refused at once until `openDuration` has passed; then the next
///   call finds it half-open.
/// - **Half-open**: `halfOpenPermits` trial calls run. Every permit is given back, by an
///   outcome or by `release` (a cancelled call), so a half-open breaker can never be
///   left with all its permits taken and no call running. When every trial has an
///   outcome it closes (fresh window) or opens again.
/// - **Tripped**: a closed breaker opens at once when the caller has other evidence that
///   the dependency is down (`trip`), as from health probes.
/// - **Forced open / forced closed**: an operator's override; outcomes are not judged
///   until the override is lifted (`force(nil)`), which closes it with a fresh window.
///
/// Each permit carries the generation it was given in: an outcome from before the last
/// change of state (a slow call admitted while closed that ends after the breaker
/// opened) is not counted in the new state.
public struct CircuitBreakerState: Sendable {
    public enum Phase: String, Sendable, CaseIterable {
        case closed
        case open
        case halfOpen = "half_open"
        case forcedOpen = "forced_open"
        case forcedClosed = "forced_closed"

        /// Whether calls are refused.
        public var refusesCalls: Bool { self == .open || self == .forcedOpen }
    }

    /// What happened to a call, as far as the breaker cares.
    public enum Outcome: Sendable, Equatable {
        case success
        case failure
        /// Neither (a client error, a cancelled call): the permit is given back uncounted.
        case ignored
    }

    /// Leave to make one call.
    public struct Permit: Sendable, Equatable {
        fileprivate let generation: UInt64
        fileprivate let trial: Bool
    }

    public struct Transition: Sendable, Equatable {
        public let from: Phase
        public let to: Phase

        public init(from: Phase, to: Phase) {
            self.from = from
            self.to = to
        }
    }

    public let policy: CircuitBreakerPolicy
    public private(set) var phase: Phase = .closed
    private var window: OutcomeWindow
    private var generation: UInt64 = 0
    private var openUntil: ContinuousClock.Instant?
    private let origin: ContinuousClock.Instant
    /// Half-open trials handed out and not yet given back, and the outcomes of those done.
    private var trialsOut = 0
    private var trials = OutcomeWindow.Totals()

    public init(policy: CircuitBreakerPolicy, now: ContinuousClock.Instant) {
        self.policy = policy
        self.window = OutcomeWindow(policy.window)
        self.origin = now
    }

    /// Asks to make a call: a permit, or nil (refused) with the transition this caused.
    public mutating func acquire(now: ContinuousClock.Instant) -> (permit: Permit?, transition: Transition?) {
        var transition: Transition?
        if phase == .open, let openUntil, now >= openUntil {
            transition = move(to: .halfOpen)
        }
        switch phase {
        case .closed, .forcedClosed:
            return (Permit(generation: generation, trial: false), transition)
        case .open, .forcedOpen:
            return (nil, transition)
        case .halfOpen:
            guard trialsOut + trials.calls < policy.halfOpenPermits else { return (nil, transition) }
            trialsOut += 1
            return (Permit(generation: generation, trial: true), transition)
        }
    }

    /// Records a call's outcome and how long it took; returns the transition it caused.
    public mutating func record(_ outcome: Outcome, duration: Duration, permit: Permit, now: ContinuousClock.Instant) -> Transition? {
        guard permit.generation == generation else { return nil }
        let failed = outcome == .failure
        let slow = outcome != .ignored && duration >= policy.slowCallDuration
        if permit.trial {
            trialsOut -= 1
            guard outcome != .ignored else { return nil }
            trials.add(failed: failed, slow: slow)
            guard trials.calls >= policy.halfOpenPermits else { return nil }
            return move(to: exceeds(trials) ? .open : .closed, now: now)
        }
        guard phase == .closed, outcome != .ignored else { return nil }
        window.record(failed: failed, slow: slow, at: second(now))
        let totals = window.current(at: second(now))
        guard totals.calls >= policy.minimumCalls, exceeds(totals) else { return nil }
        return move(to: .open, now: now)
    }

    /// Gives a permit back without an outcome (the call was cancelled or never made).
    public mutating func release(_ permit: Permit) {
        _ = record(.ignored, duration: .zero, permit: permit, now: origin)
    }

    /// Ends an open breaker's wait now (the caller has other evidence the dependency is
    /// back, such as a new connection): the next call finds it half-open and is a trial.
    public mutating func endWait(now: ContinuousClock.Instant) {
        guard phase == .open else { return }
        openUntil = now
    }

    /// Opens a closed breaker now, whatever its window holds: the caller has evidence of
    /// its own that the dependency stopped answering (health probes left without an
    /// answer), which calls still waiting on it cannot give until their timeouts. An open
    /// or half-open breaker is left to its wait and trials, an override to the operator.
    public mutating func trip(now: ContinuousClock.Instant) -> Transition? {
        guard phase == .closed else { return nil }
        return move(to: .open, now: now)
    }

    /// An operator's override (`.forcedOpen` or `.forcedClosed`), or nil to lift it.
    public mutating func force(_ forced: Phase?, now: ContinuousClock.Instant) -> Transition? {
        switch forced {
        case .forcedOpen?, .forcedClosed?:
            return forced.flatMap { move(to: $0, now: now) }
        default:
            guard phase == .forcedOpen || phase == .forcedClosed else { return nil }
            return move(to: .closed, now: now)
        }
    }

    /// The failure and slow-call rates of the current window (for metrics and readiness).
    public mutating func totals(now: ContinuousClock.Instant) -> OutcomeWindow.Totals {
        phase == .halfOpen ? trials : window.current(at: second(now))
    }

    private func exceeds(_ totals: OutcomeWindow.Totals) -> Bool {
        totals.failureRate >= policy.failureRateThreshold || totals.slowRate >= policy.slowCallRateThreshold
    }

    private mutating func move(to next: Phase, now: ContinuousClock.Instant? = nil) -> Transition? {
        guard next != phase else { return nil }
        let transition = Transition(from: phase, to: next)
        phase = next
        generation &+= 1
        trialsOut = 0
        trials = .init()
        window.reset()
        openUntil = next == .open ? now.map { $0 + policy.openDuration } : nil
        return transition
    }

    private func second(_ instant: ContinuousClock.Instant) -> Int64 {
        (instant - origin).components.seconds
    }
}

extension OutcomeWindow.Totals {
    fileprivate mutating func add(failed: Bool, slow: Bool) {
        calls += 1
        failures += failed ? 1 : 0
        self.slow += slow ? 1 : 0
    }
}
