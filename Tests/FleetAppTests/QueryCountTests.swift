@testable import FleetApp
import FleetData
import Hummingbird
import HummingbirdTesting
import Testing

/// No N+1: the number of SQL round trips behind a list does not grow with the page.
@Suite struct QueryCountTests {
    /// Measured with the cache off, so every request goes to the database.
    @Test func listAndFeedCostTheSameAtEveryPageSize() async throws {
        try await TestConduit.make(["cache.enabled": .init(.bool(false), isSecret: false)]).test { client, harness in
            let database = harness.database
            let services = harness.services
            let reader = try await client.register("reader")
            // 120 articles from 12 authors the reader follows, with favorites and tags.
            var slugs: [String] = []
            for author in 0..<12 {
                let token = try await client.register("author\(author)")
                _ = try await client.send(.post, "/api/profiles/author\(author)/follow", token: reader)
                for index in 0..<10 {
                    slugs.append(try await client.createArticle(token, title: "Post \(index)", tags: ["t\(index % 3)", "all"]))
                }
            }
            let readerID = try #require(await services.tokens.verify(reader)).user
            for slug in slugs.prefix(40) { _ = try await services.articles.favorite(slug, by: readerID) }

            func roundTrips(_ path: String, token: String?) async throws -> Int {
                let (response, count) = try await QueryCount.measure { try await client.send(.get, path, token: token) }
                #expect(response.status == .ok)
                return count
            }
            // Filters that name a user first resolve it: its directory entry and its row
            // (two round trips), then its follows or favorites (one).
            for (path, token, resolving) in [
                ("/api/articles", nil, 0), ("/api/articles", reader, 0), ("/api/articles/feed", reader, 1),
                ("/api/articles?tag=all", reader, 0), ("/api/articles?author=author3", reader, 2), ("/api/articles?favorited=reader", reader, 3),
            ] as [(String, String?, Int)] {
                let separator = path.contains("?") ? "&" : "?"
                let counts = try await [1, 20, 100].asyncMap { try await roundTrips("\(path)\(separator)limit=\($0)", token: token) }
                // With several shards a page of one touches fewer of them; past that, the
                // page size changes nothing.
                #expect(counts[1] == counts[2] && counts[0] <= counts[1], "\(path) with token \(token != nil): \(counts)")
                if database.nodes.count == 1 { #expect(counts[0] == counts[1]) }
                // Per shard: count, page of ids, articles, authors; and the viewer's
                // favorites and follows, on the viewer's shard; with a token, the token's
                // check (the user's entry, read here since the cache is off).
                let tokenCheck = token == nil ? 0 : 1
                #expect(counts[2] <= 2 + 4 * database.nodes.count + resolving + tokenCheck, "\(path): \(counts[2]) round trips")
            }
            let page = JSON(try await client.send(.get, "/api/articles/feed?limit=100", token: reader))
            #expect(page["articles"].array.count == 100)
            #expect(page["articlesCount"].int == 120)
        }
    }
}
