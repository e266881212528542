import FleetData

/// The users an article filter names, resolved to ids (the author, the user whose
/// favorites), and the logical shards that can hold a match. (The feed reads the viewer's
/// timeline instead: see `Timelines`.)
struct PageScope: Sendable {
    var author: FleetID?
    var favoritedBy: FleetID?
    /// Nil: any shard.
    private(set) var logicalShards: Set<LogicalShard>?

    /// Keeps only the shards in `candidates` (filters combine with AND).
    mutating func narrow(to candidates: Set<LogicalShard>) {
        logicalShards = logicalShards.map { $0.intersection(candidates) } ?? candidates
    }

    /// The physical shards that can hold a match, in order; none when nothing can.
    func shards(in shards: Shards) -> [Int] {
        guard let logicalShards else { return Array(shards.nodes.indices) }
        return Set(logicalShards.map { shards.physical(for: $0) }).sorted()
    }
}
