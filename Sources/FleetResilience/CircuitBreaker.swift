public import Logging
import Metrics
import Synchronization

/// A circuit breaker around calls to one dependency (one database node, Redis, the
/// recommender): once enough recent calls failed or ran slow it refuses calls at once
/// (`CircuitBreakerError` with code `.open`) instead of letting every request wait out a
/// timeout, then lets a few trial calls through to find out whether the dependency is
/// back. The decisions are `CircuitBreakerState`'s; this shell reads the clock, keeps the
/// state under a lock, gives every permit back (cancelled calls included) and reports.
///
/// Metrics: `fleet.breaker.state` (1 for the current phase, 0 for the others, with `name`
/// and `state`), `fleet.breaker.calls` (`name`, `outcome` = success, failure, ignored,
/// refused) and `fleet.breaker.transitions` (`name`, `to`). State changes are logged.
public final class CircuitBreaker: Sendable {
    public typealias Phase = CircuitBreakerState.Phase

    public let name: String
    private let state: Mutex<CircuitBreakerState>
    private let logger: Logger
    private let stateGauges: [Phase: Gauge]
    private let calls: [String: Counter]
    private let observers: Mutex<[@Sendable (CircuitBreakerState.Transition) -> Void]>

    public init(name: String, policy: CircuitBreakerPolicy = .init(), logger: Logger) {
        self.name = name
        self.state = Mutex(CircuitBreakerState(policy: policy, now: .now))
        self.logger = logger
        self.stateGauges = Dictionary(uniqueKeysWithValues: Phase.allCases.map {
            ($0, Gauge(label: "fleet.breaker.state", dimensions: [("name", name), ("state", $0.rawValue)]))
        })
        self.calls = Dictionary(uniqueKeysWithValues: ["success", "failure", "ignored", "refused"].map {
            ($0, Counter(label: "fleet.breaker.calls", dimensions: [("name", name), ("outcome", $0)]))
        })
        self.observers = Mutex([])
        report(.closed)
    }

    /// The breaker's phase now (an open breaker past its wait reads as open until a call
    /// finds it half-open).
    public var phase: Phase { state.withLock { $0.phase } }

    /// Whether a call made now would be refused, without asking for a permit: for routing
    /// (skip a node whose breaker is open) and readiness.
    public var refusesCalls: Bool {
        state.withLock { state in
            // An open breaker whose wait is over would let a trial through.
            var copy = state
            return copy.acquire(now: .now).permit == nil
        }
    }

    /// Calls `observer` on every change of phase (after it is logged and counted).
    public func onTransition(_ observer: @escaping @Sendable (CircuitBreakerState.Transition) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Runs `body` if the breaker lets it, and records its outcome: `classify` says which
    /// errors count against the dependency (a constraint violation does not; a refused
    /// connection does). Cancellation gives the permit back uncounted.
    public func run<Result>(
        classify: (any Error) -> CircuitBreakerState.Outcome = { _ in .failure },
        _ body: () async throws -> Result
    ) async throws -> Result {
        let permit = try acquire()
        let started = ContinuousClock.now
        do {
            let result = try await body()
            finish(permit, .success, since: started)
            return result
        } catch {
            let outcome: CircuitBreakerState.Outcome = (error is CancellationError || Task.isCancelled) ? .ignored : classify(error)
            finish(permit, outcome, since: started)
            throw error
        }
    }

    /// Takes a permit for a call made elsewhere (give it back with `finish`), or throws
    /// `CircuitBreakerError.open`.
    public func acquire() throws -> CircuitBreakerState.Permit {
        let (permit, transition) = state.withLock { $0.acquire(now: .now) }
        if let transition { announce(transition) }
        guard let permit else {
            calls["refused"]?.increment()
            throw CircuitBreakerError(code: .open, breaker: name)
        }
        return permit
    }

    /// Records the outcome of a call made under `permit`.
    public func finish(_ permit: CircuitBreakerState.Permit, _ outcome: CircuitBreakerState.Outcome, since started: ContinuousClock.Instant) {
        let now = ContinuousClock.now
        let transition = state.withLock { $0.record(outcome, duration: now - started, permit: permit, now: now) }
        calls[outcome == .success ? "success" : outcome == .failure ? "failure" : "ignored"]?.increment()
        if let transition { announce(transition) }
    }

    /// Lets trial calls through now if the breaker is open (see `CircuitBreakerState.endWait`).
    public func tryNow() {
        state.withLock { $0.endWait(now: .now) }
    }

    /// Opens the breaker now if it is closed (see `CircuitBreakerState.trip`).
    public func trip() {
        let transition = state.withLock { $0.trip(now: .now) }
        if let transition { announce(transition) }
    }

    /// An operator's override: `.forcedOpen`, `.forcedClosed`, or nil to lift it.
    public func force(_ phase: Phase?) {
        let transition = state.withLock { $0.force(phase, now: .now) }
        if let transition { announce(transition) }
    }

    /// The recent calls' totals (for the ops page).
    public var totals: OutcomeWindow.Totals { state.withLock { $0.totals(now: .now) } }

    private func announce(_ transition: CircuitBreakerState.Transition) {
        let level: Logger.Level = transition.to == .open ? .warning : .notice
        logger.log(level: level, "circuit breaker \(name): \(transition.from.rawValue) -> \(transition.to.rawValue)")
        Counter(label: "fleet.breaker.transitions", dimensions: [("name", name), ("to", transition.to.rawValue)]).increment()
        report(phase)
        for observer in observers.withLock({ $0 }) { observer(transition) }
    }

    private func report(_ current: Phase) {
        for (phase, gauge) in stateGauges { gauge.record(phase == current ? 1 : 0) }
    }
}

/// Why a circuit breaker did not run a call.
public struct CircuitBreakerError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private let raw: String
        /// The breaker is open (or forced open): the dependency is taken to be down.
        public static let open = Code(raw: "open")
    }

    public let code: Code
    public let breaker: String

    public init(code: Code, breaker: String) {
        self.code = code
        self.breaker = breaker
    }

    public var description: String { "circuit breaker \(breaker) is open" }
}
