import ArgumentParser
import FleetApp
import FleetObservability
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API (the default), with job workers in process unless --workers none.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Queues whose jobs this process runs: all (the default), none, or a comma-separated list (the setting jobs.workers).")
    var workers: String?

    func run() async throws {
        try await runRole(.api, options: options, overrides: workers.map { ["--jobs-workers", $0] } ?? [])
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run job workers only, with health and metrics on the admin listener (http.admin.host:port)."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Comma-separated queues to run (default: all).")
    var queues: String?

    @Option(help: "Most jobs of each queue running at once (the setting jobs.concurrency).")
    var concurrency: Int?

    func run() async throws {
        try await runRole(
            .worker, options: options,
            overrides: (queues.map { ["--jobs-workers", $0] } ?? []) + (concurrency.map { ["--jobs-concurrency", String($0)] } ?? [])
        )
    }
}

/// Runs one role of the binary until SIGTERM or SIGINT, which start a graceful shutdown:
/// readiness fails, the listener closes, in-flight requests and jobs finish (jobs within
/// `jobs.grace.seconds`), then Redis and the databases stop.
func runRole(_ role: FleetRole, options: ConfigOptions, overrides: [String]) async throws {
    let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: overrides + options.settings, configFile: options.file))
    var tracingOptions = settings.tracing
    tracingOptions.serviceName = "fleet-\(role)"
    let tracing = try TracingBackend.bootstrap(tracingOptions)
    let metrics = Observability.bootstrap(logLevel: settings.logLevel, format: settings.logFormat, tracing: tracing)
    let logger = Logger(label: "fleet")
    try await FleetApplication.build(settings, role: role, logger: logger, metrics: metrics).run(outliving: tracing.map { [$0.service] } ?? [])
    logger.notice("fleet stopped")
}
