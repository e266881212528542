@testable import FleetApp
import FleetData
import FleetJobs
import Foundation
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
    /// every pair counts exactly the users having both among their newest `window`.
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
            let actual = try await store.read { db in
                try await db.query("SELECT article_id, other_id, count FROM rec_pairs").map {
                    ("\(try $0.decode(at: 0, as: Int64.self))>\(try $0.decode(at: 1, as: Int64.self))", try $0.decode(at: 2, as: Int.self))
                }
            }
            #expect(Dictionary(uniqueKeysWithValues: actual) == expected)
        }
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
