public import FleetData
import Foundation

/// Moves one logical shard to another physical shard: copy its rows, verify the counts,
/// switch the map, then delete the rows from where they were.
///
/// Run it while no instance writes (stop them, or take them out of the load balancer),
/// then restart them with the new map. Every step can be repeated after a crash: the copy
/// skips rows already there, the map is switched only after the counts match, the source
/// is cleaned only after the switch, and a run that finds the shard already moved cleans
/// what an interrupted run left behind. Rows are neither lost nor duplicated.
public struct ShardMove: Sendable {
    public let shards: Shards
    public let logical: LogicalShard
    public let target: Int

    /// Rows of the shard per table, where they were and where they are now.
    public struct TableReport: Sendable, CustomStringConvertible {
        public let table: String
        public let source: Int
        public let target: Int
        public var description: String { "\(table): \(source) at the source, \(target) at the target" }
    }

    public init(shards: Shards, logical: LogicalShard, target: Int) {
        self.shards = shards
        self.logical = logical
        self.target = target
    }

    /// Moves the shard; `switchMap` makes the new map the one instances use (it rewrites
    /// the map file, applying this move to the map as it is then). Returns the verified
    /// counts.
    public func run(
        progress: @Sendable (String) -> Void, switchMap: (_ logical: LogicalShard, _ target: Int) async throws -> Void
    ) async throws -> [TableReport] {
        guard shards.nodes.indices.contains(target) else { throw ShardMoveError("there is no physical shard \(target)") }
        let source = shards.physical(for: logical)
        let destination = shards.nodes[target]
        if source == target {
            // Already moved: an interrupted run may have left copies elsewhere. They go only
            // if the target has every one of them.
            let kept = try await keys(in: destination)
            for (index, node) in shards.nodes.enumerated() where index != target {
                let leftovers = try await keys(in: node)
                for (table, keys) in leftovers where !keys.isSubset(of: kept[table, default: []]) {
                    throw ShardMoveError(
                        "physical shard \(index) holds rows of logical shard \(logical.rawValue) in \(table) that shard \(target) lacks; nothing deleted (is the map file right?)"
                    )
                }
                let removed = try await delete(leftovers, from: node)
                if removed > 0 { progress("removed \(removed) leftover rows of logical shard \(logical.rawValue) from shard \(index)") }
            }
            progress("logical shard \(logical.rawValue) is on physical shard \(target)")
            return try await verify(source: nil)
        }
        progress("copying logical shard \(logical.rawValue) from physical shard \(source) to \(target)")
        let rows = try await Schema.shardedTables.asyncMap { table in (table, try await self.rows(of: table, in: shards.nodes[source])) }
        let logical = self.logical
        try await destination.transaction { db in
            // The target does not hold the shard yet: anything of it there is an earlier,
            // interrupted copy, maybe older than the source now. Replaced.
            for (table, _) in rows { try await Self.deleteAll(of: logical, in: table, from: db) }
            for (table, rows) in rows { try await Self.insert(rows, into: table, in: db) }
            try await Self.recountTags(in: db)
        }
        let reports = try await verify(source: shards.nodes[source])
        for report in reports { progress("  \(report)") }
        guard reports.allSatisfy({ $0.source == $0.target }) else {
            // Not left behind: scatter reads would count the copy twice.
            try await destination.transaction { db in
                for table in Schema.shardedTables { try await Self.deleteAll(of: logical, in: table, from: db) }
                try await Self.recountTags(in: db)
            }
            throw ShardMoveError("counts differ after the copy (is something still writing?); the copy was removed and the map not switched")
        }
        try await switchMap(logical, target)
        progress("map switched: logical shard \(logical.rawValue) is on physical shard \(target)")
        // Exactly the rows copied: anything written at the source since is left there, to see.
        let copied = Dictionary(uniqueKeysWithValues: try rows.map { table, rows in (table.name, Set(try rows.map { try Self.key(of: $0, in: table) })) })
        let removed = try await delete(copied, from: shards.nodes[source])
        progress("removed \(removed) rows from physical shard \(source); restart the instances to use the new map")
        return reports
    }

    /// Counts each table's rows of the shard at the source (if any) and at the target.
    private func verify(source: InstrumentedDatabase?) async throws -> [TableReport] {
        try await Schema.shardedTables.asyncMap { table in
            let there = try await rows(of: table, in: shards.nodes[target]).count
            let here = if let source { try await rows(of: table, in: source).count } else { there }
            return TableReport(table: table.name, source: here, target: there)
        }
    }

    /// The rows of the shard in a table, from the node's latest state.
    private func rows(of table: ShardedTable, in node: InstrumentedDatabase) async throws -> [SQLRow] {
        let logical = self.logical
        let all = try await node.readLatest { db in
            if let condition = table.condition(for: logical) {
                return try await db.query("SELECT * FROM \(unsafeSQL: table.name) WHERE \(condition)")
            }
            return try await db.query("SELECT * FROM \(unsafeSQL: table.name)")
        }
        return try all.filter { try table.owns($0, shard: logical) }
    }

    /// The primary keys of the shard's rows on a node, per table.
    private func keys(in node: InstrumentedDatabase) async throws -> [String: Set<[SQLValue]>] {
        var keys: [String: Set<[SQLValue]>] = [:]
        for table in Schema.shardedTables {
            keys[table.name] = Set(try await rows(of: table, in: node).map { try Self.key(of: $0, in: table) })
        }
        return keys
    }

    private static func key(of row: SQLRow, in table: ShardedTable) throws -> [SQLValue] {
        try table.key.map { column in
            guard let index = row.columns.index(of: column) else { throw ShardMoveError("\(table.name) has no column \(column)") }
            return row.values[index]
        }
    }

    /// Inserts rows, a batch per statement.
    private static func insert(_ rows: [SQLRow], into table: ShardedTable, in db: any SQLExecutor) async throws {
        guard let columns = rows.first?.columns.names else { return }
        let names = SQLQuery(unsafeSQL: columns.joined(separator: ", "))
        for batch in stride(from: 0, to: rows.count, by: batchSize).map({ rows[$0..<min(rows.count, $0 + batchSize)] }) {
            let values = batch.map { "(\(binds: $0.values))" as SQLQuery }.joined(separator: ", ")
            try await db.execute("INSERT INTO \(unsafeSQL: table.name) (\(names)) VALUES \(values)")
        }
    }

    /// Deletes rows by primary key from a node that does not hold the shard; returns how many.
    private func delete(_ keys: [String: Set<[SQLValue]>], from node: InstrumentedDatabase) async throws -> Int {
        let total = keys.values.reduce(0) { $0 + $1.count }
        guard total > 0 else { return 0 }
        try await node.transaction { db in
            for table in Schema.shardedTables {
                let keys = Array(keys[table.name] ?? [])
                let columns = SQLQuery(unsafeSQL: table.key.joined(separator: ", "))
                for batch in stride(from: 0, to: keys.count, by: Self.batchSize).map({ keys[$0..<min(keys.count, $0 + Self.batchSize)] }) {
                    let tuples = batch.map { "(\(binds: $0))" as SQLQuery }.joined(separator: ", ")
                    try await db.execute("DELETE FROM \(unsafeSQL: table.name) WHERE (\(columns)) IN (VALUES \(tuples))")
                }
            }
            try await Self.recountTags(in: db)
        }
        return total
    }

    /// Deletes every row of the shard in a table (at a target that does not hold it).
    private static func deleteAll(of logical: LogicalShard, in table: ShardedTable, from db: any SQLExecutor) async throws {
        if let condition = table.condition(for: logical) {
            try await db.execute("DELETE FROM \(unsafeSQL: table.name) WHERE \(condition)")
            return
        }
        let rows = try await db.query("SELECT * FROM \(unsafeSQL: table.name)").filter { try table.owns($0, shard: logical) }
        let columns = SQLQuery(unsafeSQL: table.key.joined(separator: ", "))
        for batch in stride(from: 0, to: rows.count, by: batchSize).map({ rows[$0..<min(rows.count, $0 + batchSize)] }) {
            let tuples = try batch.map { "(\(binds: try key(of: $0, in: table)))" as SQLQuery }.joined(separator: ", ")
            try await db.execute("DELETE FROM \(unsafeSQL: table.name) WHERE (\(columns)) IN (VALUES \(tuples))")
        }
    }

    private static let batchSize = 100

    /// Tag counts are per physical shard and derived: recounted after rows come or go.
    private static func recountTags(in db: any SQLExecutor) async throws {
        try await db.execute("DELETE FROM tags")
        try await db.execute("INSERT INTO tags (name, articles_count) SELECT tag, COUNT(*) FROM article_tags GROUP BY tag")
    }
}

/// Why a shard move stopped.
public struct ShardMoveError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
