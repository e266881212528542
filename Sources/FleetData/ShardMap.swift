/// Which physical database holds each logical shard.
///
/// Written as ranges of logical shards and the physical shard that holds them,
/// `0-511:0,512-1023:1`; every one of the 1024 logical shards must be mapped exactly once.
/// Moving a logical shard to another database is a change of this map plus a copy of its
/// rows (`fleet shard-move`), never a rehash of everything.
public struct ShardMap: Sendable, Equatable, CustomStringConvertible {
    /// Physical shard of each logical shard, indexed by logical shard.
    private var owners: [Int]
    /// How many physical shards the map spans (the highest one named, plus one).
    public let physicalCount: Int

    /// Logical shards split into contiguous, equal ranges over `physicalCount` databases.
    public init(evenlyOver physicalCount: Int) {
        precondition(physicalCount >= 1)
        self.physicalCount = physicalCount
        self.owners = (0..<FleetID.logicalShardCount).map { $0 * physicalCount / FleetID.logicalShardCount }
    }

    /// Parses the written form; `physicalCount` is how many physical shards are configured.
    public init(parsing text: String, physicalCount: Int) throws(ShardMapError) {
        var owners = [Int?](repeating: nil, count: FleetID.logicalShardCount)
        // Lines starting with `#` are comments; spaces mean nothing.
        let lines = text.split(separator: "\n").filter { !$0.trimmingPrefix(while: \.isWhitespace).hasPrefix("#") }
        let entries = lines.joined(separator: ",").filter { !$0.isWhitespace }.split(separator: ",")
        for entry in entries {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let physical = Int(parts[1]) else {
                throw ShardMapError("'\(entry)' is not LOGICAL[-LOGICAL]:PHYSICAL")
            }
            let bounds = parts[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil, low <= high,
                low >= 0, high < FleetID.logicalShardCount
            else { throw ShardMapError("'\(entry)': logical shards are 0-\(FleetID.logicalShardCount - 1)") }
            guard (0..<physicalCount).contains(physical) else {
                throw ShardMapError("'\(entry)': physical shard \(physical) is not configured (there are \(physicalCount))")
            }
            for logical in low...high {
                guard owners[logical] == nil else { throw ShardMapError("logical shard \(logical) is mapped twice") }
                owners[logical] = physical
            }
        }
        if let missing = owners.firstIndex(where: { $0 == nil }) { throw ShardMapError("logical shard \(missing) is not mapped") }
        self.owners = owners.map { $0 ?? 0 }
        self.physicalCount = physicalCount
    }

    /// The physical shard holding `logical`.
    public func physical(for logical: LogicalShard) -> Int { owners[logical.rawValue] }

    /// The logical shards held by `physical`.
    public func logicalShards(on physical: Int) -> [LogicalShard] {
        owners.indices.filter { owners[$0] == physical }.map(LogicalShard.init(rawValue:))
    }

    /// The same map with `logical` held by `physical` instead.
    public func moving(_ logical: LogicalShard, to physical: Int) -> ShardMap {
        var moved = self
        moved.owners[logical.rawValue] = physical
        return moved
    }

    /// The written form, in as few ranges as possible.
    public var description: String {
        var ranges: [String] = []
        var start = 0
        for logical in 1...owners.count where logical == owners.count || owners[logical] != owners[start] {
            ranges.append(start == logical - 1 ? "\(start):\(owners[start])" : "\(start)-\(logical - 1):\(owners[start])")
            start = logical
        }
        return ranges.joined(separator: ",")
    }
}

/// A shard map that cannot be used; the message says why.
public struct ShardMapError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
