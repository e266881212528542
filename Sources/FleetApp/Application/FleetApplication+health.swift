import FleetData
import FleetObservability
import FleetResilience
import Synchronization

extension FleetApplication {
    /// Readiness: some shard answers (a shard that is down fails only the requests that
    /// need it, so it must not take every instance out of the load balancer), and no shard
    /// that answers has a schema older than this build expects.
    /// Readiness details list every circuit breaker's phase.
    static func registerHealthChecks(_ health: HealthChecks, shards: Shards, breakers: CircuitBreakers) {
        health.detail("breakers") { breakers.all.mapValues(\.phase.rawValue) }
        health.register("database") {
            for node in shards.nodes where await node.ping() { return true }
            return false
        }
        let current = CurrentShards()
        health.register("schema") {
            for (index, node) in shards.nodes.enumerated() where !current.contains(index) {
                // A shard that does not answer is the "database" check's business.
                guard let version = try? await Schema.migrator.currentVersion(node) else { continue }
                guard version >= Schema.migrator.latestVersion else { return false }
                current.insert(index)
            }
            return true
        }
    }
}

/// The shards seen with the current schema (a schema never goes back).
final class CurrentShards: Sendable {
    private let seen = Mutex(Set<Int>())
    func contains(_ index: Int) -> Bool { seen.withLock { $0.contains(index) } }
    func insert(_ index: Int) { seen.withLock { _ = $0.insert(index) } }
}
