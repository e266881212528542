import ArgumentParser
import FleetApp
import FleetObservability
import Logging

/// Rebuilds feeds from follows and articles (after a restore, a bug, or to check the
/// incremental path).
struct TimelinesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timelines", abstract: "Maintain the feed timelines.", subcommands: [Rebuild.self, Bench.self]
    )

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rebuild every timeline (or one user's) from follows and articles.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "Only this user's timeline.") var user: String?

        func run() async throws {
            let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
            _ = Observability.bootstrap(logLevel: .warning)
            let logger = Logger(label: "fleet.timelines")
            let bar = ProgressBar()
            let user = user
            try await Databases.with(settings, logger: logger) { shards in
                let services = try await ConduitServices.make(settings, shards: shards, redis: nil, passwords: nil, logger: logger)
                if let user {
                    guard try await services.rebuildTimeline(of: user) else { throw ValidationError("no user is named \(user)") }
                    print("rebuilt the timeline of \(user)")
                } else {
                    try await services.rebuildTimelines { done, total in bar.update("timelines", done, total) }
                    print("rebuilt every timeline")
                }
            }
        }
    }
}
