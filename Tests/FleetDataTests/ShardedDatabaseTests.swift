import Foundation
import Logging
import Testing

@testable import FleetData

@Suite struct ShardMapTests {
    @Test func anEvenSplitIsContiguousAndPrintsAsRanges() throws {
        let map = ShardMap(evenlyOver: 2)
        #expect(map.description == "0-511:0,512-1023:1")
        #expect(map.physical(for: LogicalShard(rawValue: 511)) == 0)
        #expect(map.physical(for: LogicalShard(rawValue: 512)) == 1)
        #expect(try ShardMap(parsing: map.description, physicalCount: 2) == map)
        #expect(ShardMap(evenlyOver: 3).logicalShards(on: 2).count == 341)
    }

    @Test func aMoveChangesOneShardAndSurvivesTheRoundTrip() throws {
        let moved = ShardMap(evenlyOver: 2).moving(LogicalShard(rawValue: 7), to: 1)
        #expect(moved.description == "0-6:0,7:1,8-511:0,512-1023:1")
        let parsed = try ShardMap(parsing: "# a comment\n0-6:0, 7:1\n8-511:0\n512-1023:1\n", physicalCount: 2)
        #expect(parsed == moved)
    }

    @Test func refusesMapsThatLoseOrDoubleAShard() {
        for (text, count) in [
            ("0-1022:0", 1), ("0-1023:0,5:0", 1), ("0-1023:1", 1), ("0-1024:0", 1), ("zero:0", 1), ("5-3:0", 1), ("0-1023", 1), ("-1:0", 1),
        ] {
            #expect(throws: ShardMapError.self, "\(text)") { try ShardMap(parsing: text, physicalCount: count) }
        }
    }
}

@Suite struct ShardedDatabaseTests {
    @Test func mergesNewestFirstAcrossShards() {
        #expect(mergeDescending([[9, 5, 1], [8, 7, 2], [], [6]], limit: 5) == [9, 8, 7, 6, 5])
        #expect(mergeDescending([[3, 1], [2]], limit: 10) == [3, 2, 1])
        #expect(mergeDescending([[Int]](), limit: 3).isEmpty)
    }

    @Test func routesByTheIdsShardAndScattersInOrder() async throws {
        try await withShards { shards in
            let ids = [FleetID(milliseconds: 1, shard: LogicalShard(rawValue: 3), sequence: 0), FleetID(milliseconds: 1, shard: LogicalShard(rawValue: 900), sequence: 0)]
            #expect(shards.partition(ids) { $0 }.map(\.physical) == [0, 1])
            #expect(shards.node(for: ids[1]) === shards.nodes[1])
            let answers = try await shards.scatter { index, node in
                try await node.read { db in try await db.first("SELECT \(bind: index) AS n")?.decode("n", as: Int.self) }
            }
            #expect(answers == [0, 1])
            // No shard to ask (a batch of no ids) is no answer missing, not an outage.
            #expect(try await shards.scatter([]) { index, _ in index }.isEmpty)
            let available = try await shards.scatterAvailable([]) { index, _ in index }
            #expect(available.results.isEmpty && available.missing.isEmpty)
        }
    }

    /// A shard that does not answer in time fails the scatter, quickly and by name.
    @Test func aSlowShardFailsTheScatterByName() async throws {
        try await withShards(timeout: .milliseconds(100)) { shards in
            let started = ContinuousClock.now
            await #expect {
                try await shards.scatter { index, _ in
                    if index == 1 { try await Task.sleep(for: .seconds(30)) }
                    return index
                }
            } throws: { error in
                (error as? DatabaseError).map { "\($0)".contains("shard 1") && $0.isUnavailable } ?? false
            }
            // Far less than the slow shard takes (a loaded test machine may delay timers).
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    /// A PostgreSQL shard nobody listens on: the call that needs it fails as unavailable
    /// (503 to clients), naming it; the other shard still answers.
    @Test func anUnreachableShardFailsOnlyWhatNeedsIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try await SQLiteDatabase.open(.init(path: directory.appendingPathComponent("a.sqlite").path), logger: Logger(label: "test"))
        var configuration = try PostgresDatabase.Configuration(url: "postgres://fleet@127.0.0.1:1/fleet")
        configuration.acquireTimeout = .milliseconds(300)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical  // the refused connections are the point
        let postgres = PostgresDatabase(configuration, logger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await postgres.run() }
            defer { group.cancelAll() }
            let shards = ShardedDatabase(nodes: [InstrumentedDatabase(sqlite, system: "sqlite"), InstrumentedDatabase(postgres, system: "postgresql", shard: 1)], map: ShardMap(evenlyOver: 2), timeout: .seconds(2))
            await #expect {
                try await shards.scatter { _, node in try await node.read { db in try await db.first("SELECT 1") != nil } }
            } throws: { error in
                (error as? DatabaseError).map { "\($0)".contains("shard 1") && $0.isUnavailable } ?? false
            }
            let answered = try await shards.scatter([0]) { _, node in try await node.read { db in try await db.first("SELECT 1") != nil } }
            #expect(answered == [true])
            await sqlite.close()
        }
    }

    /// A server that refuses connections fails calls as unavailable in well under the
    /// acquire timeout: the pool's failed attempts with nothing open say it is not there.
    @Test func aServerThatRefusesConnectionsFailsFast() async throws {
        var configuration = try PostgresDatabase.Configuration(url: "postgres://fleet@127.0.0.1:1/fleet")
        configuration.acquireTimeout = .seconds(30)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let postgres = PostgresDatabase(configuration, logger: quiet)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await postgres.run() }
            defer { group.cancelAll() }
            for _ in 0..<2 {
                let started = ContinuousClock.now
                await #expect {
                    try await postgres.read { db in try await db.first("SELECT 1") != nil }
                } throws: { error in
                    (error as? DatabaseError) == .unavailable("cannot connect to the server")
                }
                #expect(ContinuousClock.now - started < .seconds(10))  // not the acquire timeout
            }
        }
    }

    private func withShards(timeout: Duration = .seconds(2), _ body: (ShardedDatabase<SQLiteDatabase>) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var nodes: [SQLiteDatabase] = []
        for name in ["a", "b"] {
            nodes.append(try await SQLiteDatabase.open(.init(path: directory.appendingPathComponent("\(name).sqlite").path), logger: Logger(label: "test")))
        }
        let shards = ShardedDatabase(nodes: nodes, map: ShardMap(evenlyOver: 2), timeout: timeout)
        try await body(shards)
        await shards.close()
    }
}
