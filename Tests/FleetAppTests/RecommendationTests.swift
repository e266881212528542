@testable import FleetApp
import FleetData
import FleetJobs
import Foundation
import Logging
import HTTPTypes
import HummingbirdTesting
import Testing

/// The recommender's model and the API's fallback, in process: `recommend.favorite` jobs
/// run twice, late and out of order leave the model as one run would; the pair counts
/// match their definition after any sequence of changes (with a small window, so that
/// articles leave it); readers with no recommender get popular articles, and are told so.
@Suite struct RecommendationTests {
    /// Every job waiting on any shard in `queue` (`recommend.favorite` jobs by default), claimed.
    private static func claimJobs(_ shards: Shards, queue: String = "recommendations") async throws -> [ClaimedJob] {
        var jobs: [ClaimedJob] = []
        for node in shards.nodes {
            jobs += try await JobStore().claim(queue: queue, limit: 100, lease: .seconds(30), now: .max / 2, in: node)
        }
        return jobs
    }

    /// The model's pairs as `article>other` → count, by slug titles.
    private static func pairs(_ shards: Shards, _ titles: [Int64: String]) async throws -> [String: Int] {
        let rows = try await shards.nodes[0].read { db in
            try await db.query("SELECT article_id, other_id, count FROM rec_pairs").map {
                (try $0.decode(at: 0, as: Int64.self), try $0.decode(at: 1, as: Int64.self), try $0.decode(at: 2, as: Int.self))
            }
        }
        return Dictionary(uniqueKeysWithValues: rows.map { ("\(titles[$0.0] ?? "?")>\(titles[$0.1] ?? "?")", $0.2) })
    }

    /// An author with articles A, B and C, and two readers: their tokens, the slugs by
    /// title, and the titles by article id.
    private static func threeArticles(_ client: any TestClientProtocol) async throws
        -> (author: String, one: String, two: String, slugs: [String: String], titles: [Int64: String])
    {
        let author = try await client.register("author")
        var slugs: [String: String] = [:]
        var titles: [Int64: String] = [:]
        for title in ["A", "B", "C"] {
            let slug = try await client.createArticle(author, title: title)
            slugs[title] = slug
            titles[try #require(Slug.id(in: slug)).rawValue] = title
        }
        return (author, try await client.register("one"), try await client.register("two"), slugs, titles)
    }

    @Test func favoriteJobsRunTwiceLateOrOutOfOrderChangeNothing() async throws {
        try await TestConduit.make(["jobs.workers": "none"]).test { client, harness in
            let shards = harness.database
            let handlers = ConduitJobs.handlers(harness.services)
            let model = RecommendationModel(shards: shards)
            let (_, one, two, slugs, titles) = try await Self.threeArticles(client)
            let oneID = try #require(await harness.services.profiles.userID(named: "one"))
            let twoID = try #require(await harness.services.profiles.userID(named: "two"))
            func favorite(_ token: String, _ title: String, _ method: HTTPRequest.Method = .post) async throws {
                #expect(try await client.send(method, "/api/articles/\(slugs[title] ?? "")/favorite", token: token).status == .ok)
            }
            func recommended(_ user: FleetID) async throws -> [String] {
                try await model.recommend(for: user, limit: 10).map { titles[$0] ?? "?" }
            }
            try await favorite(one, "A")
            try await favorite(one, "B")
            try await favorite(two, "A")
            try await favorite(two, "C")
            let favorited = try await Self.claimJobs(shards)
            #expect(favorited.map(\.name) == Array(repeating: "recommend.favorite", count: 4))
            #expect(try await Self.pairs(shards, titles).isEmpty, "nothing before the jobs run")

            // Each job run twice (a retry, a second worker after a lost lease): once in effect.
            for job in favorited + favorited { #expect(try await handlers.run(job) == .completed) }
            let expected = ["A>B": 1, "B>A": 1, "A>C": 1, "C>A": 1]
            #expect(try await Self.pairs(shards, titles) == expected)
            #expect(try await recommended(oneID) == ["C"])
            #expect(try await recommended(twoID) == ["B"])

            // Two also favorites B: the pairs of B count two users now, and B moves up.
            try await favorite(two, "B")
            let second = try await Self.claimJobs(shards)
            for job in second + second { #expect(try await handlers.run(job) == .completed) }
            #expect(try await Self.pairs(shards, titles) == ["A>B": 2, "B>A": 2, "A>C": 1, "C>A": 1, "B>C": 1, "C>B": 1])

            // One takes B back; its job runs between late reruns of the favorite's: the model
            // follows what the user's shard says now, whatever the order.
            try await favorite(one, "B", .delete)
            let unfavorited = try await Self.claimJobs(shards)
            #expect(unfavorited.count == 1)
            for job in favorited + unfavorited + favorited + unfavorited { #expect(try await handlers.run(job) == .completed) }
            #expect(try await Self.pairs(shards, titles) == ["A>B": 1, "B>A": 1, "A>C": 1, "C>A": 1, "B>C": 1, "C>B": 1])
            // A tie: the newer article first.
            #expect(try await recommended(oneID) == ["C", "B"])
            let mirrored = try await shards.nodes[0].read { db in
                try await db.first("SELECT COUNT(*) FROM rec_favorites WHERE user_id = \(bind: oneID)")?.decode(at: 0, as: Int.self)
            }
            #expect(mirrored == 1)
        }
    }

    /// A deleted article's favorites leave the model with it: the edge relay that removes
    /// them from their users' shards tells the model, as an unfavorite would.
    @Test func aDeletedArticleLeavesTheModel() async throws {
        try await TestConduit.make(["jobs.workers": "none"]).test { client, harness in
            let shards = harness.database
            let handlers = ConduitJobs.handlers(harness.services)
            let (author, one, two, slugs, titles) = try await Self.threeArticles(client)
            let oneID = try #require(await harness.services.profiles.userID(named: "one"))
            for (token, title) in [(one, "A"), (one, "C"), (two, "A"), (two, "B"), (two, "C")] {
                #expect(try await client.send(.post, "/api/articles/\(slugs[title] ?? "")/favorite", token: token).status == .ok)
            }
            for job in try await Self.claimJobs(shards) { #expect(try await handlers.run(job) == .completed) }
            #expect(try await Self.pairs(shards, titles) == ["A>B": 1, "B>A": 1, "A>C": 2, "C>A": 2, "B>C": 1, "C>B": 1])

            #expect(try await client.send(.delete, "/api/articles/\(slugs["C"] ?? "")", token: author).status == .noContent)
            // The delete removes the favorites from their users' shards itself, unless a
            // busy machine held it past the shards' timeout: then their edge jobs do.
            for job in try await Self.claimJobs(shards, queue: "edges") { #expect(try await handlers.run(job) == .completed) }
            let gone = try await Self.claimJobs(shards)
            #expect(gone.count == 2, "one job for each of C's two favorites")
            for job in gone { #expect(try await handlers.run(job) == .completed) }
            #expect(try await Self.pairs(shards, titles) == ["A>B": 1, "B>A": 1])
            let deleted = try #require(Slug.id(in: slugs["C"] ?? ""))
            let mirrored = try await shards.nodes[0].read { db in
                try await db.first("SELECT COUNT(*) FROM rec_favorites WHERE article_id = \(bind: deleted)")?.decode(at: 0, as: Int.self)
            }
            #expect(mirrored == 0)
            #expect(try await RecommendationModel(shards: shards).recommend(for: oneID, limit: 10).map { titles[$0] ?? "?" } == ["B"])
        }
    }

    /// After any sequence of favorites and unfavorites, applied in any order and repeated,
    /// every pair counts exactly the users having both among their newest `window`; and
    /// counting them all again from the mirrored favorites (the rebuild a migration that
    /// changes the window runs) gives the same counts.
    @Test func pairCountsMatchTheirDefinitionAsArticlesEnterAndLeaveTheWindow() async throws {
        try await TestConduit.make(["jobs.workers": "none"]).test { _, harness in
            let store = harness.database.nodes[0]
            let window = 3
            var generator = SystemRandomNumberGenerator()
            // user → article → when favorited; the truth the model follows.
            var truth: [Int64: [Int64: Int64]] = [:]
            for step in 0..<120 {
                let user = Int64.random(in: 1...3, using: &generator)
                let article = Int64.random(in: 100...107, using: &generator)
                let favoritedAt: Int64? = Bool.random(using: &generator) ? Int64(step) : nil
                if let favoritedAt, truth[user]?[article] == nil { truth[user, default: [:]][article] = favoritedAt }
                if favoritedAt == nil { truth[user]?[article] = nil }
                let at = truth[user]?[article]
                // Applied twice: the second changes nothing.
                for _ in 0..<2 {
                    try await store.transaction { db in
                        try await RecommendationModel.mirror(user: FleetID(rawValue: user), article: FleetID(rawValue: article), favoritedAt: at, window: window, in: db)
                    }
                }
            }
            var expected: [String: Int] = [:]
            for (_, favorites) in truth {
                let newest = favorites.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }.prefix(window).map(\.key)
                for a in newest { for b in newest where a != b { expected["\(a)>\(b)", default: 0] += 1 } }
            }
            #expect(try await store.read { try await Self.allPairs(in: $0) } == expected)
            #expect(!expected.isEmpty)
            let rebuilt = try await store.transaction { db in
                try await db.execute("DELETE FROM rec_pairs")
                try await db.execute(RecommendationModel.rebuildPairs(window: window))
                return try await Self.allPairs(in: db)
            }
            #expect(rebuilt == expected)
        }
    }

    /// Schema 9 counts a model kept with the old window (200) again with the new one (50):
    /// afterwards every pair counts the users having both among their newest 50, and the
    /// model goes on from there.
    @Test func schemaNineCountsTheModelAgainForTheNewWindow() async throws {
        let conduit = try await TestConduit.make()
        let logger = Logger(label: "test")
        let databases = try await Databases.open(conduit.settings, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await databases.run() }
            defer { group.cancelAll() }
            let store = databases.shards.nodes[0]
            try await Migrator(Array(Schema.migrator.migrations.prefix(8))).migrate(store, logger: logger)
            // Two users with 70 favorites each, counted as schema 8 would; 160-169 are among the
            // newest 50 of both.
            var favorites: [Int64: [(article: Int64, at: Int64)]] = [:]
            for index in 0..<70 {
                favorites[1, default: []].append((100 + Int64(index), Int64(index)))
                favorites[2, default: []].append((140 + Int64(index), Int64(1_000 + index)))
            }
            for (user, list) in favorites {
                for favorite in list {
                    try await store.transaction { db in
                        try await RecommendationModel.mirror(
                            user: FleetID(rawValue: user), article: FleetID(rawValue: favorite.article), favoritedAt: favorite.at, window: 200, in: db
                        )
                    }
                }
            }
            try await Schema.migrator.migrate(store, logger: logger)
            var expected: [String: Int] = [:]
            for (_, list) in favorites {
                let newest = list.sorted { $0.at > $1.at }.prefix(RecommendationModel.window).map(\.article)
                for a in newest { for b in newest where a != b { expected["\(a)>\(b)", default: 0] += 1 } }
            }
            #expect(try await store.read { try await Self.allPairs(in: $0) } == expected)
            #expect(expected["165>160"] == 2, "a pair in both windows counts both users")
            // The next favorite moves user 2's window by one, on the rebuilt table.
            try await store.transaction { db in
                try await RecommendationModel.mirror(user: FleetID(rawValue: 2), article: FleetID(rawValue: 999), favoritedAt: 5_000, window: RecommendationModel.window, in: db)
            }
            let moved = try await store.read { try await Self.allPairs(in: $0) }
            #expect(moved["999>209"] == 1)
            #expect(moved["999>160"] == nil && moved["165>160"] == 1, "the oldest of user 2's window left it")
        }
    }

    /// Every pair of the model and its count, as "article>other".
    static func allPairs(in db: any SQLExecutor) async throws -> [String: Int] {
        Dictionary(
            uniqueKeysWithValues: try await db.query("SELECT article_id, other_id, count FROM rec_pairs").map {
                ("\(try $0.decode(at: 0, as: Int64.self))>\(try $0.decode(at: 1, as: Int64.self))", try $0.decode(at: 2, as: Int.self))
            }
        )
    }

    /// Without a recommender (`recommender.url` unset) or a signed-in reader: the most
    /// favorited articles of the last days, in the Conduit list shape, with the reason.
    @Test func readersWithoutARecommenderGetPopularArticles() async throws {
        try await TestConduit.make().test { client, _ in
            let author = try await client.register("author")
            let reader = try await client.register("reader")
            let fan = try await client.register("fan")
            _ = try await client.createArticle(author, title: "Quiet")
            let liked = try await client.createArticle(author, title: "Liked")
            let loved = try await client.createArticle(author, title: "Loved")
            for (token, slug) in [(reader, loved), (fan, loved), (fan, liked)] {
                #expect(try await client.send(.post, "/api/articles/\(slug)/favorite", token: token).status == .ok)
            }
            let header = RecommendationSource.headerName
            let anonymous = try await client.send(.get, "/api/articles/recommended")
            #expect(anonymous.status == .ok)
            #expect(anonymous.headers[header] == "popular; reason=anonymous")
            #expect(JSON(anonymous)["articles"].array.map { $0["slug"].string } == [loved, liked])
            #expect(JSON(anonymous)["articlesCount"].int == 2)
            #expect(JSON(anonymous)["articles"][0]["body"].value == nil, "lists leave the body out")

            let signedIn = try await client.send(.get, "/api/articles/recommended?limit=1", token: reader)
            #expect(signedIn.headers[header] == "popular; reason=unconfigured")
            #expect(JSON(signedIn)["articles"].array.map { $0["slug"].string } == [loved])
            #expect(JSON(signedIn)["articles"][0]["favorited"].bool == true)

            let bad = try await client.send(.get, "/api/articles/recommended?limit=0")
            #expect(bad.status == .unprocessableContent)
        }
    }
}
