import Logging
import ServiceLifecycle

/// Runs `service` (a job worker, for the benchmarks) while `body` runs, then shuts it down
/// gracefully and waits for it to stop.
func whileRunning<Result: Sendable>(
    _ service: some Service, logger: Logger, _ body: () async throws -> Result
) async throws -> Result {
    let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            tasks.cancelAll()
            throw error
        }
    }
}
