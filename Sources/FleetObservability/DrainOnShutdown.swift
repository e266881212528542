public import ServiceLifecycle

/// A service that flips readiness to "draining" the moment graceful shutdown begins, so
/// that load balancers stop routing here while the HTTP server finishes in-flight work.
///
/// With a `delay`, the server keeps accepting for that long after readiness fails: a
/// balancer with active checks (HAProxy, Kubernetes endpoints) takes the instance out
/// before it refuses anything, instead of racing its close. It runs last in the
/// application's group, so the group waits for it before stopping the server.
public struct DrainOnShutdown: Service {
    let health: HealthChecks
    let delay: Duration

    public init(health: HealthChecks, delay: Duration = .zero) {
        self.health = health
        self.delay = delay
    }

    public func run() async throws {
        try? await gracefulShutdown()
        health.beginDraining()
        if delay > .zero { try? await Task.sleep(for: delay) }
    }
}
