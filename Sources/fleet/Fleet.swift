import ArgumentParser

/// The one executable: every role of a Fleet deployment is a subcommand of it.
@main
struct Fleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "A Conduit (RealWorld) backend that scales from one SQLite file to a fleet by configuration.",
        subcommands: [Serve.self, Worker.self, RecommenderCommand.self, Jobs.self, TimelinesCommand.self, Migrate.self, Seed.self, ShardMoveCommand.self, PrintSettings.self, RedisBenchmark.self, LoadTest.self],
        defaultSubcommand: Serve.self
    )
}

/// Options every subcommand shares: a config file, and any setting as a flag.
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "A JSON configuration file (also FLEET_CONFIG).")
    var file: String?

    @Argument(parsing: .allUnrecognized, help: .init("Any setting as a flag, e.g. --http-port 9090 (see `fleet settings`)."))
    var settings: [String] = []
}
