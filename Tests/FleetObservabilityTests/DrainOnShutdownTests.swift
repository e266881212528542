import FleetObservability
import Logging
import ServiceLifecycle
import Testing

@Suite struct DrainOnShutdownTests {
    /// Readiness fails as soon as shutdown begins; the drain service (and so the services
    /// the group stops after it) finishes only once the delay has passed.
    @Test func readinessFailsFirstAndTheDelayHoldsTheRestBack() async throws {
        let health = HealthChecks()
        let drain = DrainOnShutdown(health: health, delay: .milliseconds(300))
        let group = ServiceGroup(services: [drain], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(!health.isDraining)
            let triggered = ContinuousClock.now
            await group.triggerGracefulShutdown()
            // Bounded generously: the suite runs beside others on two busy cores.
            while !health.isDraining, ContinuousClock.now - triggered < .seconds(10) { try await Task.sleep(for: .milliseconds(5)) }
            #expect(health.isDraining)
            try await tasks.waitForAll()
            #expect(ContinuousClock.now - triggered >= .milliseconds(300))
        }
    }
}
