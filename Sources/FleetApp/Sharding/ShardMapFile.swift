public import FleetData
import Foundation

/// The shard map file (`database.shard.map.file`).
public enum ShardMapFile {
    /// Reads the file as it is now and moves one logical shard in it: a move switches the
    /// map as it finds it, not as it was when the move started.
    public static func move(_ logical: LogicalShard, to physical: Int, in path: String, physicalCount: Int) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try write(try ShardMap(parsing: text, physicalCount: physicalCount).moving(logical, to: physical), to: path)
    }

    /// Replaces the file in one step (write aside, then rename), so a reader sees the old
    /// map or the new one, never half of one.
    public static func write(_ map: ShardMap, to path: String) throws {
        let text = """
            # Logical shard ranges and the physical shard holding them (see `fleet shard-move`).
            \(map.description)

            """
        let temporary = path + ".tmp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        if rename(temporary, path) != 0 { throw ShardMoveError("cannot replace \(path): errno \(errno)") }
    }
}
