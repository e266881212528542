@testable import FleetApp
import HTTPTypes
import FleetData
import FleetJobs
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Two physical shards (two SQLite files, or two PostgreSQL databases under
/// `FLEET_TEST_POSTGRES_URL`): rows go to their owner's shard, lists gather from both,
/// and edges across shards stay consistent, whatever crashes between the two writes.
@Suite struct ShardingTests {
    @Test func rowsLiveOnTheirOwnersShardAndListsMergeBothInOrder() async throws {
        try await TestConduit.make(shards: 2).test { client, harness in
            let shards = harness.database
            let names = [name(on: 0, in: shards, "ann"), name(on: 1, in: shards, "bob"), name(on: 0, in: shards, "cid"), name(on: 1, in: shards, "dee")]
            var slugs: [String] = []
            for round in 0..<5 {
                for name in names {
                    let token = round == 0 ? try await client.register(name) : try await login(client, name)
                    slugs.append(try await client.createArticle(token, title: "\(name) \(round)", tags: round % 2 == 0 ? ["even", name] : ["odd"]))
                }
            }
            // Each user, and each article, on its owner's shard only.
            for name in names {
                let id = try #require(try await harness.services.directory.user(.username, name))
                for (index, node) in shards.nodes.enumerated() {
                    let rows = try await node.read { db in try await db.query("SELECT id FROM users WHERE id = \(bind: id)") }
                    #expect(rows.count == (index == shards.physical(for: id.shard) ? 1 : 0))
                }
            }
            let perShard = try await shards.nodes.asyncMap { node in
                try await node.read { db in try await db.first("SELECT COUNT(*) FROM articles")?.decode(at: 0, as: Int.self) ?? 0 }
            }
            #expect(perShard == [10, 10])

            // Newest first across both shards, at every offset.
            let expected = slugs.reversed() as [String]
            for (limit, offset) in [(3, 0), (5, 3), (20, 0), (4, 17), (10, 19), (10, 20)] {
                let page = JSON(try await client.send(.get, "/api/articles?limit=\(limit)&offset=\(offset)"))
                #expect(page["articles"].array.compactMap { $0["slug"].string } == Array(expected.dropFirst(offset).prefix(limit)), "\(limit)/\(offset)")
                #expect(page["articlesCount"].int == 20)
            }
            let even = JSON(try await client.send(.get, "/api/articles?tag=even&limit=100"))
            #expect(even["articlesCount"].int == 12)
            #expect(even["articles"].array.count == 12)
            let byAuthor = JSON(try await client.send(.get, "/api/articles?author=\(names[1])&limit=2&offset=1"))
            #expect(byAuthor["articlesCount"].int == 5)
            #expect(byAuthor["articles"].array.compactMap { $0["slug"].string } == [slugs[13], slugs[9]])
            // Tag counts are summed over shards: `even` 12, `odd` 8, each name 3.
            let tags = JSON(try await client.send(.get, "/api/tags"))["tags"].array.compactMap(\.string)
            #expect(Array(tags.prefix(2)) == ["even", "odd"])
            #expect(Set(tags.dropFirst(2)) == Set(names))
        }
    }

    @Test func favoritesAndFollowsAcrossShardsAreMirroredOnTheOtherSide() async throws {
        try await TestConduit.make(shards: 2).test { client, harness in
            let shards = harness.database
            let fan = name(on: 0, in: shards, "fan"), star = name(on: 1, in: shards, "star")
            let fanToken = try await client.register(fan)
            let starToken = try await client.register(star)
            let slug = try await client.createArticle(starToken, title: "Famous")
            let starID = try #require(try await harness.services.directory.user(.username, star))
            let fanID = try #require(try await harness.services.directory.user(.username, fan))
            let articleID = try #require(Slug.id(in: slug))

            let favorited = JSON(try await client.send(.post, "/api/articles/\(slug)/favorite", token: fanToken))["article"]
            #expect(favorited["favorited"].bool == true)
            #expect(favorited["favoritesCount"].int == 1)
            #expect(try await mirrorCount(.favorite, target: articleID, in: shards) == 1)
            let list = JSON(try await client.send(.get, "/api/articles?favorited=\(fan)"))
            #expect(list["articles"].array.compactMap { $0["slug"].string } == [slug])
            #expect(list["articlesCount"].int == 1)

            let followed = JSON(try await client.send(.post, "/api/profiles/\(star)/follow", token: fanToken))["profile"]
            #expect(followed["following"].bool == true)
            #expect(try await mirrorCount(.follow, target: starID, in: shards) == 1)
            let feed = JSON(try await client.send(.get, "/api/articles/feed", token: fanToken))
            #expect(feed["articles"].array.compactMap { $0["slug"].string } == [slug])
            #expect(feed["articlesCount"].int == 1)
            #expect(JSON(try await client.send(.get, "/api/profiles/\(star)", token: fanToken))["profile"]["following"].bool == true)

            _ = try await client.send(.delete, "/api/profiles/\(star)/follow", token: fanToken)
            #expect(try await mirrorCount(.follow, target: starID, in: shards) == 0)
            let unfavorited = JSON(try await client.send(.delete, "/api/articles/\(slug)/favorite", token: fanToken))["article"]
            #expect(unfavorited["favoritesCount"].int == 0)
            #expect(try await mirrorCount(.favorite, target: articleID, in: shards) == 0)

            // Deleting the article removes the favorites on the favoriters' shards too.
            _ = try await client.send(.post, "/api/articles/\(slug)/favorite", token: fanToken)
            #expect(try await client.send(.delete, "/api/articles/\(slug)", token: starToken).status == .noContent)
            let left = try await shards.node(for: fanID).read { db in try await db.query("SELECT article_id FROM favorites WHERE user_id = \(bind: fanID)") }
            #expect(left.isEmpty)
            #expect(JSON(try await client.send(.get, "/api/articles?favorited=\(fan)"))["articlesCount"].int == 0)
            #expect(try await pendingEdgeJobs(in: shards) == 0)
        }
    }

    /// A crash after the owner's commit and before the mirror is written leaves an edge
    /// job; a worker runs it, and running it again, or late, changes nothing.
    @Test func edgeJobsLeftBehindRunIdempotently() async throws {
        try await TestConduit.make(["jobs.workers": "none"], shards: 2).test { client, harness in
            let shards = harness.database
            let services = harness.services
            let handlers = ConduitJobs.handlers(services)
            let fan = name(on: 0, in: shards, "fan"), star = name(on: 1, in: shards, "star")
            _ = try await client.register(fan)
            let slug = try await client.createArticle(try await client.register(star), title: "Crash")
            let fanID = try #require(try await services.directory.user(.username, fan))
            let articleID = try #require(Slug.id(in: slug))
            let edge = Edge(kind: .favorite, source: fanID.rawValue, target: articleID.rawValue)
            let claim = { try await JobStore().claim(queue: "edges", limit: 10, lease: .seconds(30), now: .max / 2, in: shards.node(for: fanID)) }

            // The favorite commits with its job, then the process "dies".
            try await shards.node(for: fanID).transaction { db in
                try await db.execute("INSERT INTO favorites (user_id, article_id, created_at) VALUES (\(bind: fanID), \(bind: articleID), 1)")
                _ = try await services.edges.enqueue(edge, owner: fanID, now: 1, in: db)
            }
            #expect(try await favoritesCount(articleID, in: shards) == 0)
            let favorited = try await claim()
            #expect(favorited.count == 1)
            // Run, then again (a retry, a second worker after a lost lease): once in effect.
            for job in favorited + favorited { #expect(try await handlers.run(job) == .completed) }
            #expect(try await favoritesCount(articleID, in: shards) == 1)
            #expect(JSON(try await client.send(.get, "/api/articles/\(slug)"))["article"]["favoritesCount"].int == 1)

            // An unfavorite that crashed the same way, its job run late, after a rerun of the
            // favorite's: the mirror follows the owner's current state.
            try await shards.node(for: fanID).transaction { db in
                try await db.execute("DELETE FROM favorites WHERE user_id = \(bind: fanID)")
                _ = try await services.edges.enqueue(edge, owner: fanID, now: 1, in: db)
            }
            let unfavorited = try await claim()
            for job in favorited + unfavorited + favorited { #expect(try await handlers.run(job) == .completed) }
            #expect(try await favoritesCount(articleID, in: shards) == 0)
            #expect(try await mirrorCount(.favorite, target: articleID, in: shards) == 0)
        }
    }

    /// A sign-up that died between claiming its names and writing its user does not keep
    /// the names: once the claim is older than the grace period, the next sign-up gets them.
    @Test func aSignUpThatCrashedDoesNotBlockItsNamesForever() async throws {
        try await TestConduit.make(shards: 2).test { client, harness in
            let services = harness.services
            let ghost = services.ids.next(on: LogicalShard(hashing: "ghost"))
            try await services.directory.claim(.username, "ghost", for: ghost, now: services.now())
            try await services.directory.claim(.email, "ghost@example.com", for: ghost, now: services.now())
            // Within the grace period the sign-up may still be writing its user.
            let early = try await client.send(.post, "/api/users", json: #"{"user":{"username":"ghost","email":"ghost@example.com","password":"password123"}}"#)
            #expect(early.status == .conflict)
            #expect(try await client.send(.get, "/api/profiles/ghost").status == .notFound)
            // Later, the entries no longer count.
            for node in harness.database.nodes {
                try await node.transaction { db in try await db.execute("UPDATE directory SET created_at = created_at - \(bind: UserDirectory.grace + 1)") }
            }
            _ = try await client.register("ghost")
            let login = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"ghost@example.com","password":"password123"}}"#)
            #expect(login.status == .ok)
            #expect(JSON(try await client.send(.get, "/api/profiles/ghost"))["profile"]["username"].string == "ghost")
        }
    }

    @Test func aRenameFreesTheOldNameAndTheNewOneIsUnique() async throws {
        try await TestConduit.make(shards: 2).test { client, harness in
            let token = try await client.register("before")
            _ = try await client.register("other")
            let taken = try await client.send(.put, "/api/user", token: token, json: #"{"user":{"username":"Other"}}"#)
            #expect(taken.status == .conflict)
            let renamed = try await client.send(.put, "/api/user", token: token, json: #"{"user":{"username":"after","email":"after@example.com"}}"#)
            #expect(renamed.status == .ok)
            #expect(try await client.send(.get, "/api/profiles/before").status == .notFound)
            #expect(JSON(try await client.send(.get, "/api/profiles/after"))["profile"]["username"].string == "after")
            // Both old names are free again.
            let reuse = try await client.send(.post, "/api/users", json: #"{"user":{"username":"before","email":"before@example.com","password":"password123"}}"#)
            #expect(reuse.status == .created)
            let login = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"after@example.com","password":"password123"}}"#)
            #expect(JSON(login)["user"]["username"].string == "after")
        }
    }
}

/// A user name, starting with `prefix`, that lands on physical shard `physical`.
func name(on physical: Int, in map: ShardMap, _ prefix: String) -> String {
    (0...).lazy.map { "\(prefix)\($0)" }.first { map.physical(for: LogicalShard(hashing: $0)) == physical }!
}

func name(on physical: Int, in shards: Shards, _ prefix: String) -> String { name(on: physical, in: shards.map, prefix) }

func login(_ client: any TestClientProtocol, _ name: String) async throws -> String {
    let response = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"\#(name)@example.com","password":"password123"}}"#)
    return try #require(JSON(response)["user"]["token"].string)
}

func mirrorCount(_ kind: Edge.Kind, target: FleetID, in shards: Shards) async throws -> Int {
    try await shards.node(for: target).read { db in
        try await db.first("SELECT COUNT(*) FROM edge_mirror WHERE kind = \(bind: kind.rawValue) AND target_id = \(bind: target)")?.decode(at: 0) ?? 0
    }
}

func favoritesCount(_ article: FleetID, in shards: Shards) async throws -> Int {
    try await shards.node(for: article).read { db in
        try await db.first("SELECT favorites_count FROM articles WHERE id = \(bind: article)")?.decode(at: 0) ?? -1
    }
}

/// Edge jobs not done yet: none once every request delivered its edges inline.
func pendingEdgeJobs(in shards: Shards) async throws -> Int {
    var total = 0
    for node in shards.nodes {
        total += try await node.read { db in
            try await db.first("SELECT COUNT(*) FROM jobs WHERE queue = 'edges' AND state <> 'completed'")?.decode(at: 0) ?? 0
        }
    }
    return total
}

/// A physical shard nobody answers on (a PostgreSQL port with no server), from the start:
/// the instance starts, stays ready, serves everything that lives on the other shard, and
/// fails with 503 and a Conduit error body only what needs the missing one. The global
/// list gathers from every shard: with partial lists on (the default) it answers from the
/// live shard and says which is missing; off, it fails with 503.
@Suite struct ShardDownTests {
    @Test(arguments: [true, false])
    func aShardThatIsDownFailsOnlyTheRequestsThatNeedIt(partialLists: Bool) async throws {
        let conduit = try await TestConduit.make([
            "database.shard.partial.lists": .init(.bool(partialLists), isSecret: false),
            "database.shard.1.url": .init(.string("postgres://fleet@127.0.0.1:1/fleet"), isSecret: true),
            // The dead shard fails fast whatever this is (refused connections); shard 0 may
            // be a PostgreSQL on a loaded machine.
            "database.acquire.timeout.ms": .init(.int(5000), isSecret: false),
            "database.shard.timeout.ms": .init(.int(500), isSecret: false),
        ])
        try await conduit.test { client, harness in
            // Ready, once the live shard answers its probe in time (the PostgreSQL run shares
            // two cores with clusters and servers other tests start).
            var ready = try await client.send(.get, "/health/ready").status
            for _ in 0..<50 where ready != .ok {
                try await Task.sleep(for: .milliseconds(200))
                ready = try await client.send(.get, "/health/ready").status
            }
            #expect(ready == .ok)
            let map = harness.database.map
            // A name whose username and e-mail entries are both on shard 0.
            let local = (0...).lazy.map { "local\($0)" }.first { name in
                [name, "\(name)@example.com"].allSatisfy { map.physical(for: LogicalShard(hashing: $0)) == 0 }
            }!
            let token = try await client.register(local)
            let slug = try await client.createArticle(token, title: "Still here")
            #expect(try await client.send(.get, "/api/articles/\(slug)").status == .ok)
            #expect(try await client.send(.get, "/api/articles/\(slug)/comments").status == .ok)
            #expect(try await client.send(.get, "/api/profiles/\(local)").status == .ok)
            #expect(try await client.send(.get, "/api/articles?author=\(local)").status == .ok)
            #expect(try await client.send(.get, "/api/user", token: token).status == .ok)

            let list = try await client.send(.get, "/api/articles")
            if partialLists {
                #expect(list.status == .ok)
                #expect(list.headers[HTTPField.Name("X-Fleet-Partial")!] == "shards=1")
                #expect(JSON(value: try? JSONDecoding.object(list.body))["articles"][0]["slug"].string == slug)
            } else {
                #expect(list.status == .serviceUnavailable && errors(list)["server"] != nil)
            }
            // A list of one author's articles needs only their shard: complete, not partial.
            #expect(try await client.send(.get, "/api/articles?author=\(local)").headers[HTTPField.Name("X-Fleet-Partial")!] == nil)
            let remote = name(on: 1, in: map, "remote")
            for (method, path) in [(HTTPRequest.Method.get, "/api/tags"), (.get, "/api/profiles/\(remote)")] {
                let response = try await client.send(method, path)
                #expect(response.status == .serviceUnavailable, "\(path)")
                #expect(errors(response)["server"] != nil, "\(path)")
            }
        }
    }
}
