import FleetData

/// A table whose rows belong to logical shards, and how to tell which.
struct ShardedTable: Sendable {
    enum Owner: Sendable {
        /// A `FleetID` column: the shard is in the id's bits.
        case id(String)
        /// A column holding the logical shard number itself.
        case slot(String)
        /// A text column whose hash (`LogicalShard(hashing:)`) is the shard.
        case hashedName(String)
    }

    let name: String
    let owner: Owner
    let key: [String]

    /// A condition selecting the rows of `shard`, when SQL can say it.
    func condition(for shard: LogicalShard) -> SQLQuery? {
        switch owner {
        case .id(let column):
            "(\(unsafeSQL: column) >> \(unsafeSQL: String(FleetID.sequenceBits))) & \(unsafeSQL: String(FleetID.logicalShardCount - 1)) = \(bind: shard.rawValue)"
        case .slot(let column): "\(unsafeSQL: column) = \(bind: shard.rawValue)"
        case .hashedName: nil
        }
    }

    /// Whether a row belongs to `shard` (for owners SQL cannot compute).
    func owns(_ row: SQLRow, shard: LogicalShard) throws -> Bool {
        guard case .hashedName(let column) = owner else { return true }
        return LogicalShard(hashing: try row.decode(column, as: String.self)) == shard
    }
}
