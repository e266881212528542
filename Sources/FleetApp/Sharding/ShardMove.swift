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
    /// the map file). Returns the verified counts.
    public func run(
        progress: @Sendable (String) -> Void, switchMap: (ShardMap) async throws -> Void
    ) async throws -> [TableReport] {
        guard shards.nodes.indices.contains(target) else { throw ShardMoveError("there is no physical shard \(target)") }
        let source = shards.physical(for: logical)
        let destination = shards.nodes[target]
        if source == target {
            // Already moved: an interrupted run may have left copies on other shards.
            for (index, node) in shards.nodes.enumerated() where index != target {
                let removed = try await delete(from: node)
                if removed > 0 { progress("removed \(removed) leftover rows of logical shard \(logical.rawValue) from shard \(index)") }
            }
            progress("logical shard \(logical.rawValue) is on physical shard \(target)")
            return try await verify(source: nil)
        }
        progress("copying logical shard \(logical.rawValue) from physical shard \(source) to \(target)")
        let rows = try await Schema.shardedTables.asyncMap { table in (table, try await self.rows(of: table, in: shards.nodes[source])) }
        try await destination.transaction { db in
            for (table, rows) in rows { try await Self.insert(rows, into: table, in: db) }
            try await Self.recountTags(in: db)
        }
        let reports = try await verify(source: shards.nodes[source])
        for report in reports { progress("  \(report)") }
        guard reports.allSatisfy({ $0.source == $0.target }) else {
            throw ShardMoveError("counts differ after the copy (is something still writing?); the map was not switched, run again")
        }
        try await switchMap(shards.map.moving(logical, to: target))
        progress("map switched: logical shard \(logical.rawValue) is on physical shard \(target)")
        let removed = try await delete(from: shards.nodes[source])
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

    /// Inserts rows, skipping those already there (a repeated copy), a batch per statement.
    private static func insert(_ rows: [SQLRow], into table: ShardedTable, in db: any SQLExecutor) async throws {
        guard let columns = rows.first?.columns.names else { return }
        let names = SQLQuery(unsafeSQL: columns.joined(separator: ", "))
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + 100)]
            let values = batch.map { "(\(binds: $0.values))" as SQLQuery }.joined(separator: ", ")
            try await db.execute("INSERT INTO \(unsafeSQL: table.name) (\(names)) VALUES \(values) ON CONFLICT DO NOTHING")
            start += batch.count
        }
    }

    /// Deletes the shard's rows from a node that no longer holds it; returns how many.
    private func delete(from node: InstrumentedDatabase) async throws -> Int {
        let doomed = try await Schema.shardedTables.asyncMap { table in (table, try await rows(of: table, in: node)) }
        let logical = self.logical
        let total = doomed.reduce(0) { $0 + $1.1.count }
        guard total > 0 else { return 0 }
        try await node.transaction { db in
            for (table, rows) in doomed {
                if let condition = table.condition(for: logical) {
                    try await db.execute("DELETE FROM \(unsafeSQL: table.name) WHERE \(condition)")
                    continue
                }
                for row in rows {
                    let match = try table.key.map { column -> SQLQuery in
                        guard let index = row.columns.index(of: column) else { throw ShardMoveError("\(table.name) has no column \(column)") }
                        return "\(unsafeSQL: column) = \(bind: row.values[index])"
                    }
                    try await db.execute("DELETE FROM \(unsafeSQL: table.name) WHERE \(match.joined(separator: " AND "))")
                }
            }
            try await Self.recountTags(in: db)
        }
        return total
    }

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

/// The shard map file (`database.shard.map.file`).
public enum ShardMapFile {
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

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
