import ArgumentParser
import FleetApp
import FleetObservability
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API (the default).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
        let metrics = Observability.bootstrap(logLevel: settings.logLevel)
        let logger = Logger(label: "fleet")
        // SIGTERM and SIGINT start a graceful shutdown: readiness fails, the listener
        // closes, in-flight requests finish, then the sweep, Redis and the databases stop.
        try await FleetApplication.build(settings, logger: logger, metrics: metrics).run()
        logger.notice("fleet stopped")
    }
}
