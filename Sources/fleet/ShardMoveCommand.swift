import ArgumentParser
import FleetApp
import FleetData
import FleetObservability
import Logging

struct ShardMoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard-move",
        abstract: "Move a logical shard to another physical shard: copy, verify counts, switch the map file.",
        discussion: """
            Stop the instances (or every write) first, and restart them afterwards: they read \
            the map at start. The map file (database.shard.map.file) must exist; it is \
            rewritten in one step once the copy is verified. Safe to run again after a crash.
            """
    )

    @Option(help: "The logical shard to move (0-1023).")
    var logical: Int

    @Option(help: "The physical shard to move it to (0 is database.url, n is database.shard.<n>.url).")
    var to: Int

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
        _ = Observability.bootstrap(logLevel: settings.logLevel, format: settings.logFormat)
        guard let mapFile = settings.databaseShardMapFile else {
            throw ValidationError("set database.shard.map.file: the move switches the map by rewriting that file")
        }
        guard (0..<FleetID.logicalShardCount).contains(logical) else { throw ValidationError("--logical must be 0-1023") }
        let logger = Logger(label: "fleet.shard-move")
        let (logical, to) = (LogicalShard(rawValue: logical), to)
        try await Databases.with(settings, logger: logger) { shards in
            _ = try await ShardMove(shards: shards, logical: logical, target: to).run(progress: { print($0) }) { logical, target in
                try ShardMapFile.move(logical, to: target, in: mapFile, physicalCount: shards.nodes.count)
            }
        }
    }
}
