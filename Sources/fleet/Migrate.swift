import ArgumentParser
import FleetApp
import FleetObservability
import Logging

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations and exit.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
        _ = Observability.bootstrap(logLevel: settings.logLevel)
        let logger = Logger(label: "fleet.migrate")
        // Opening the database applies what is pending.
        let version = try await ConduitApplication.withDatabase(settings, logger: logger) { database in
            try await Schema.migrator.currentVersion(database)
        }
        print("schema at version \(version) (\(settings.databaseURL == nil ? settings.databasePath : "postgresql"))")
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
