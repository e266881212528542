public import Logging
import Synchronization

/// Every circuit breaker of a process, by name (one per dependency and node:
/// `postgres.shard0.node1`, `redis`, `smtp`, `recommender`), so that readiness can list
/// them and an operator can force one open or closed by name.
public final class CircuitBreakers: Sendable {
    private let breakers = Mutex<[String: CircuitBreaker]>([:])
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// The breaker named `name`, made with `policy` on first use.
    public func breaker(_ name: String, policy: CircuitBreakerPolicy) -> CircuitBreaker {
        breakers.withLock { breakers in
            if let existing = breakers[name] { return existing }
            let made = CircuitBreaker(name: name, policy: policy, logger: logger)
            breakers[name] = made
            return made
        }
    }

    /// Every breaker made so far, by name.
    public var all: [String: CircuitBreaker] { breakers.withLock { $0 } }

    /// Forces the breaker named `name` (`.forcedOpen`, `.forcedClosed`, or nil to lift
    /// it); false when there is no such breaker.
    @discardableResult
    public func force(_ name: String, _ phase: CircuitBreaker.Phase?) -> Bool {
        guard let breaker = breakers.withLock({ $0[name] }) else { return false }
        breaker.force(phase)
        return true
    }
}
