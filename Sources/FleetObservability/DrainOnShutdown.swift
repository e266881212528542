public import ServiceLifecycle

/// A service that flips readiness to "draining" the moment graceful shutdown begins, so
/// that load balancers stop routing here while the HTTP server finishes in-flight work.
public struct DrainOnShutdown: Service {
    let health: HealthChecks

    public init(health: HealthChecks) {
        self.health = health
    }

    public func run() async throws {
        try? await gracefulShutdown()
        health.beginDraining()
    }
}
