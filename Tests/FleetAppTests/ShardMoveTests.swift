import Configuration
@testable import FleetApp
import FleetData
import FleetJobs
import Foundation
import HummingbirdTesting
import Logging
import Testing

/// `fleet shard-move`: a logical shard full of every kind of row moves to the other
/// physical shard; afterwards every row exists exactly once, on the new shard, and the API
/// answers exactly as before.
@Suite struct ShardMoveTests {
    @Test func movingALogicalShardLosesAndDuplicatesNothing() async throws {
        let (conduit, mapFile) = try await Self.twoShardsWithAMapFile()
        defer { try? FileManager.default.removeItem(at: conduit.directory) }

        // The mover lives on physical shard 0; everyone else on 1.
        let map = ShardMap(evenlyOver: 2)
        let mover = name(on: 0, in: map, "mover"), friend = name(on: 1, in: map, "friend")
        let logical = LogicalShard(hashing: mover)

        let paths = [
            "/api/profiles/\(mover)", "/api/articles?limit=50", "/api/articles?author=\(mover)", "/api/articles?favorited=\(mover)",
            "/api/articles?favorited=\(friend)", "/api/articles?tag=moving", "/api/tags",
        ]
        let (before, slug) = try await conduit.test { client, _ in
            let moverToken = try await client.register(mover)
            let friendToken = try await client.register(friend)
            let slug = try await client.createArticle(moverToken, title: "Leaving", tags: ["moving", "shared"])
            _ = try await client.createArticle(moverToken, title: "Also leaving", tags: ["moving"])
            let friendSlug = try await client.createArticle(friendToken, title: "Staying", tags: ["shared"])
            _ = try await client.send(.post, "/api/articles/\(slug)/comments", token: friendToken, json: #"{"comment":{"body":"bon voyage"}}"#)
            _ = try await client.send(.post, "/api/articles/\(friendSlug)/comments", token: moverToken, json: #"{"comment":{"body":"see you"}}"#)
            _ = try await client.send(.post, "/api/articles/\(slug)/favorite", token: friendToken)
            _ = try await client.send(.post, "/api/articles/\(friendSlug)/favorite", token: moverToken)
            _ = try await client.send(.post, "/api/profiles/\(friend)/follow", token: moverToken)
            _ = try await client.send(.post, "/api/profiles/\(mover)/follow", token: friendToken)
            var answers = try await snapshot(paths + ["/api/articles/\(slug)", "/api/articles/\(slug)/comments"], client)
            answers["feed:mover"] = try await body(client.send(.get, "/api/articles/feed", token: moverToken))
            answers["feed:friend"] = try await body(client.send(.get, "/api/articles/feed", token: friendToken))
            return (answers, slug)
        }
        let rowsBefore = try await rowCounts(conduit)
        // An earlier copy that was interrupted left an older version of a row at the target:
        // the move replaces it (the profile after the move shows the source's bio).
        try await Databases.with(conduit.settings, logger: Logger(label: "test")) { shards in
            let row = try #require(try await shards.nodes[0].read { db in try await db.first("SELECT * FROM users WHERE username_key = \(bind: mover)") })
            try await shards.nodes[1].transaction { db in
                try await db.execute("INSERT INTO users (\(unsafeSQL: row.columns.names.joined(separator: ", "))) VALUES (\(binds: row.values))")
                try await db.execute("UPDATE users SET bio = 'stale copy' WHERE username_key = \(bind: mover)")
            }
        }

        let reports = try await move(conduit, logical, to: 1, mapFile: mapFile)
        #expect(reports.allSatisfy { $0.source == $0.target })
        #expect(reports.first { $0.table == "users" }?.target == 1)
        #expect(reports.first { $0.table == "articles" }?.target == 2)
        let written = try String(contentsOfFile: mapFile, encoding: .utf8)
        #expect(try ShardMap(parsing: written, physicalCount: 2).physical(for: logical) == 1)

        // Every row once, and the moved ones only on physical shard 1.
        let rowsAfter = try await rowCounts(conduit)
        #expect(rowsAfter == rowsBefore)
        let reopened = try conduit.with(["database.shard.map.file": .init(.string(mapFile), isSecret: false)])
        try await Databases.with(reopened.settings, logger: Logger(label: "test")) { shards in
            #expect(shards.physical(for: logical) == 1)
            let left = try await shards.nodes[0].read { db in
                try await db.first("SELECT COUNT(*) FROM users WHERE (id >> 12) & 1023 = \(bind: logical.rawValue)")?.decode(at: 0, as: Int.self)
            }
            #expect(left == 0)
        }

        // A second run finds the shard moved and changes nothing.
        _ = try await move(conduit, logical, to: 1, mapFile: mapFile)
        #expect(try await rowCounts(conduit) == rowsBefore)

        // The API, restarted on the new map, answers as before, and keeps working.
        try await reopened.test { client, _ in
            let token = try await login(client, mover)
            var answers = try await snapshot(paths + ["/api/articles/\(slug)", "/api/articles/\(slug)/comments"], client)
            answers["feed:mover"] = try await body(client.send(.get, "/api/articles/feed", token: token))
            answers["feed:friend"] = try await body(client.send(.get, "/api/articles/feed", token: try await login(client, friend)))
            for (path, answer) in before { #expect(answers[path] == answer, "\(path)") }
            _ = try await client.createArticle(token, title: "Arrived", tags: ["moving"])
            #expect(JSON(try await client.send(.get, "/api/articles?tag=moving"))["articlesCount"].int == 3)
        }
    }

    /// A map that says a shard moved when its rows never did: the move refuses to delete
    /// the only copy.
    @Test func aMapThatDisagreesWithTheDataDeletesNothing() async throws {
        let (conduit, mapFile) = try await Self.twoShardsWithAMapFile()
        defer { try? FileManager.default.removeItem(at: conduit.directory) }
        let mover = name(on: 0, in: ShardMap(evenlyOver: 2), "mover")
        let logical = LogicalShard(hashing: mover)
        try await conduit.test { client, _ in _ = try await client.createArticle(try await client.register(mover)) }
        let before = try await rowCounts(conduit)

        try ShardMapFile.write(ShardMap(evenlyOver: 2).moving(logical, to: 1), to: mapFile)
        await #expect(throws: ShardMoveError.self) { try await move(conduit, logical, to: 1, mapFile: mapFile) }
        #expect(try await rowCounts(conduit) == before)
    }

    /// Jobs stay on the physical shard where they were enqueued; after a move, one still
    /// waiting there acts on the moved data where it now is (handlers find rows through
    /// the map, not through the shard the job is on). Here a favorite's job for the
    /// recommender's model, left waiting when the favoriting user's shard moved.
    @Test func aJobWaitingAtTheMoveActsOnTheDataWhereItMoved() async throws {
        var (conduit, mapFile) = try await Self.twoShardsWithAMapFile()
        defer { try? FileManager.default.removeItem(at: conduit.directory) }
        conduit = try conduit.with(["jobs.workers": .init(.string("none"), isSecret: false)])
        let map = ShardMap(evenlyOver: 2)
        let mover = name(on: 0, in: map, "mover"), author = name(on: 1, in: map, "author")
        let (moverID, articleID) = try await conduit.test { client, harness in
            let authorToken = try await client.register(author)
            let slug = try await client.createArticle(authorToken, title: "Liked")
            let moverToken = try await client.register(mover)
            #expect(try await client.send(.post, "/api/articles/\(slug)/favorite", token: moverToken).status == .ok)
            return (try #require(await harness.services.profiles.userID(named: mover)), try #require(Slug.id(in: slug)))
        }
        _ = try await move(conduit, LogicalShard(hashing: mover), to: 1, mapFile: mapFile)
        try await conduit.test { _, harness in
            let shards = harness.database
            #expect(shards.physical(for: moverID.shard) == 1)
            let waiting = try await JobStore().claim(queue: "recommendations", limit: 10, lease: .seconds(30), now: .max / 2, in: shards.nodes[0])
            #expect(waiting.map(\.name) == ["recommend.favorite"], "the job stayed on the shard it was enqueued on")
            let handlers = ConduitJobs.handlers(harness.services)
            for job in waiting { #expect(try await handlers.run(job) == .completed) }
            let mirrored = try await shards.nodes[0].read { db in
                try await db.first("SELECT user_id FROM rec_favorites WHERE user_id = \(bind: moverID) AND article_id = \(bind: articleID)")
            }
            #expect(mirrored != nil, "the favorite, now on physical shard 1, reached the model")
        }
    }

    /// Two shards and an even map in a file; the data outlives each `test` (removed by the caller).
    private static func twoShardsWithAMapFile() async throws -> (TestConduit, String) {
        var conduit = try await TestConduit.make(shards: 2)
        let mapFile = conduit.directory.appendingPathComponent("shards.map").path
        try FileManager.default.createDirectory(at: conduit.directory, withIntermediateDirectories: true)
        try ShardMapFile.write(ShardMap(evenlyOver: 2), to: mapFile)
        conduit = try conduit.with(["database.shard.map.file": .init(.string(mapFile), isSecret: false)])
        conduit.removesFiles = false
        return (conduit, mapFile)
    }

    private func move(_ conduit: TestConduit, _ logical: LogicalShard, to target: Int, mapFile: String) async throws -> [ShardMove.TableReport] {
        try await Databases.with(conduit.settings, logger: Logger(label: "test")) { shards in
            try await ShardMove(shards: shards, logical: logical, target: target).run(progress: { _ in }) { logical, target in
                try ShardMapFile.move(logical, to: target, in: mapFile, physicalCount: shards.nodes.count)
            }
        }
    }

    /// Rows per table, summed over both physical shards.
    private func rowCounts(_ conduit: TestConduit) async throws -> [String: Int] {
        try await Databases.with(conduit.settings, logger: Logger(label: "test")) { shards in
            var counts: [String: Int] = [:]
            // (Tag rows are per physical shard and recounted; `/api/tags` checks them.)
            for table in Schema.shardedTables.map(\.name) {
                for node in shards.nodes {
                    counts[table, default: 0] += try await node.read { db in
                        try await db.first("SELECT COUNT(*) FROM \(unsafeSQL: table)")?.decode(at: 0, as: Int.self) ?? 0
                    }
                }
            }
            return counts
        }
    }

    private func snapshot(_ paths: [String], _ client: any TestClientProtocol) async throws -> [String: String] {
        var answers: [String: String] = [:]
        for path in paths { answers[path] = try await body(client.send(.get, path)) }
        return answers
    }

    private func body(_ response: TestResponse) -> String {
        "\(response.status.code) " + String(buffer: response.body)
    }
}
