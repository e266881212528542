import Synchronization

/// What `/health/live` and `/health/ready` answer.
///
/// Liveness only says the process can serve HTTP. Readiness says it should get traffic:
/// every registered check passes and the process is not draining for shutdown.
public final class HealthChecks: Sendable {
    public typealias Check = @Sendable () async -> Bool

    private let checks = Mutex<[(name: String, check: Check)]>([])
    private let draining = Atomic<Bool>(false)

    public init() {}

    /// Adds a named dependency check (database reachable, schema current, ...).
    public func register(_ name: String, _ check: @escaping Check) {
        checks.withLock { $0.append((name, check)) }
    }

    /// Marks the process as shutting down: readiness fails from now on so that load
    /// balancers stop sending new work while in-flight requests finish.
    public func beginDraining() { draining.store(true, ordering: .relaxed) }

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Runs every check; the result names each one and whether it passed.
    public func readiness() async -> (ready: Bool, results: [String: Bool]) {
        let snapshot = checks.withLock { $0 }
        var results: [String: Bool] = [:]
        for (name, check) in snapshot { results[name] = await check() }
        results["accepting_traffic"] = !isDraining
        return (results.values.allSatisfy { $0 }, results)
    }
}
