import FleetSupport
import ServiceLifecycle

/// Runs a service once the migrations have run (the job worker needs the jobs table);
/// does not start it at all when shutdown comes first.
struct AfterMigrations: Service {
    let migrated: Gate
    let service: any Service

    func run() async throws {
        await cancelWhenGracefulShutdown { await migrated.wait() }
        guard migrated.isOpen, !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        try await service.run()
    }
}
