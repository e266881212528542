import ArgumentParser
import FleetApp
import FleetObservability
import Hummingbird
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API (the default).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
        let metrics = Observability.bootstrap(logLevel: settings.logLevel)
        let logger = Logger(label: "fleet")
        try await ConduitApplication.withDatabase(settings, logger: logger) { database in
            try await ConduitApplication.withRedis(settings, logger: logger) { redis in
                let services = try await ConduitApplication.services(settings, database: database, redis: redis, logger: logger)
                let health = HealthChecks()
                ConduitApplication.registerHealthChecks(health, database: database)
                let router = ConduitApplication.router(
                    services: services, settings: settings, health: health, metrics: metrics, redis: redis
                )
                let app = Application(
                    router: router,
                    configuration: .init(address: .hostname(settings.httpHost, port: settings.httpPort), serverName: "fleet"),
                    services: [DrainOnShutdown(health: health), services.edges],
                    onServerRunning: { channel in
                        logger.notice(
                            "fleet is serving",
                            metadata: [
                                "address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "database": "\(database.dialect)", "shards": "\(database.nodes.count)",
                                "redis": "\(redis == nil ? "off" : "on")",
                            ]
                        )
                    },
                    logger: logger
                )
                // SIGTERM and SIGINT start a graceful shutdown: readiness fails, the listener
                // closes, in-flight requests finish, then Redis and the database close.
                try await app.runService()
            }
        }
        logger.notice("fleet stopped")
    }
}
