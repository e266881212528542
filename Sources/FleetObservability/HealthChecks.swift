import FleetSupport
import Synchronization

/// What `/health/live` and `/health/ready` answer.
///
/// Liveness only says the process can serve HTTP. Readiness says it should get traffic:
/// every registered check passes and the process is not draining for shutdown.
///
/// Readiness is what load balancers poll, often several of them, every second or two;
/// the checks query every database. So a result is reused for `maxAge`, and callers that
/// arrive while the checks run wait for that run instead of starting their own. A check
/// that does not answer within `checkTimeout` fails. Draining shows at once: a draining
/// process answers "not ready" without running the checks.
public final class HealthChecks: Sendable {
    public typealias Check = @Sendable () async -> Bool

    private let checks = Mutex<[(name: String, check: Check)]>([])
    private let detailProviders = Mutex<[(name: String, provide: @Sendable () -> [String: String])]>([])
    private let draining = Atomic<Bool>(false)
    private let maxAge: Duration
    private let checkTimeout: Duration
    private let cached = Mutex<Cached>(.none)

    private enum Cached {
        case none
        case running(Task<[String: Bool], Never>)
        case done([String: Bool], at: ContinuousClock.Instant)
    }

    /// - Parameters:
    ///   - maxAge: how long a readiness result is reused.
    ///   - checkTimeout: how long one check may take before it counts as failed.
    public init(maxAge: Duration = .seconds(1), checkTimeout: Duration = .seconds(2)) {
        self.maxAge = maxAge
        self.checkTimeout = checkTimeout
    }

    /// Adds a named dependency check (database reachable, schema current, ...).
    public func register(_ name: String, _ check: @escaping Check) {
        checks.withLock { $0.append((name, check)) }
        cached.withLock { $0 = .none }
    }

    /// Adds named details to readiness answers (the phase of every circuit breaker, say):
    /// what an operator reads to see why an instance is degraded, without failing it.
    public func detail(_ name: String, _ provide: @escaping @Sendable () -> [String: String]) {
        detailProviders.withLock { $0.append((name, provide)) }
    }

    /// The details as of now.
    public var details: [String: [String: String]] {
        let providers = detailProviders.withLock { $0 }
        return Dictionary(providers.map { ($0.name, $0.provide()) }, uniquingKeysWith: { first, _ in first })
    }

    /// Marks the process as shutting down: readiness fails from now on so that load
    /// balancers stop sending new work while in-flight requests finish.
    public func beginDraining() { draining.store(true, ordering: .relaxed) }

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// The checks' results (at most `maxAge` old); the result names each one and whether it passed.
    public func readiness() async -> (ready: Bool, results: [String: Bool]) {
        if isDraining { return (false, ["accepting_traffic": false]) }
        var results = await checkResults()
        results["accepting_traffic"] = !isDraining
        return (results.values.allSatisfy { $0 }, results)
    }

    private func checkResults() async -> [String: Bool] {
        let now = ContinuousClock.now
        let fresh: [String: Bool]?
        let task: Task<[String: Bool], Never>?
        (fresh, task) = cached.withLock { cached in
            switch cached {
            case .done(let results, let at) where now - at < maxAge:
                return (results, nil)
            case .running(let task):
                return (nil, task)
            default:
                let snapshot = checks.withLock { $0 }
                let timeout = checkTimeout
                let task = Task { [weak self] in
                    var results: [String: Bool] = [:]
                    for (name, check) in snapshot {
                        results[name] = (try? await withDeadline(timeout, orThrow: { CancellationError() }) { await check() }) ?? false
                    }
                    self?.cached.withLock { $0 = .done(results, at: .now) }
                    return results
                }
                cached = .running(task)
                return (nil, task)
            }
        }
        if let fresh { return fresh }
        return await task?.value ?? [:]
    }
}
