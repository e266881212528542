import ArgumentParser
import FleetApp
import FleetObservability
import Logging

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations and exit.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
        _ = Observability.bootstrap(logLevel: settings.logLevel, format: settings.logFormat)
        let logger = Logger(label: "fleet.migrate")
        // Opening the databases applies what is pending on every shard's primary.
        let versions = try await Databases.with(settings, logger: logger) { shards in
            var versions: [Int] = []
            for node in shards.nodes { versions.append(try await Schema.migrator.currentVersion(node)) }
            return versions
        }
        for (index, version) in versions.enumerated() {
            let node = settings.shardNodes[index].url.map { $0.hasPrefix("sqlite:") ? $0 : "postgresql" } ?? settings.databasePath
            print("shard \(index): schema at version \(version) (\(node))")
        }
    }
}

struct PrintSettings: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settings", abstract: "List every setting with its default.")

    func run() {
        for entry in FleetSettings.documentation {
            let env = "FLEET_" + entry.key.uppercased().replacingOccurrences(of: ".", with: "_")
            let flag = "--" + entry.key.replacingOccurrences(of: ".", with: "-")
            print("\(entry.key)  [\(flag) | \(env)]  default: \(entry.defaultValue)\n    \(entry.help)")
        }
    }
}
