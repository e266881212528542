import FleetObservability
import Logging
import ServiceLifecycle
import Testing

@Suite struct DrainOnShutdownTests {
    /// Readiness fails the moment shutdown begins; the drain service (and so the services
    /// stopped after it) finishes only once the delay has passed.
    @Test func readinessFailsAtOnceAndTheDelayHoldsTheRestBack() async throws {
        let health = HealthChecks()
        let drain = DrainOnShutdown(health: health, delay: .milliseconds(300))
        let group = ServiceGroup(services: [drain], logger: Logger(label: "test"))
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(50))
            #expect(!health.isDraining)
            await group.triggerGracefulShutdown()
            try await Task.sleep(for: .milliseconds(50))
            #expect(health.isDraining)
            try await tasks.waitForAll()
        }
        #expect(ContinuousClock.now - started >= .milliseconds(350))
    }
}
