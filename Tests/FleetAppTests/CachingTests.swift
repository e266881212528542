import FleetData
import Hummingbird
import HummingbirdTesting
import Testing

@testable import FleetApp

/// The cache on Conduit's hot paths: warm reads cost no queries, and every write is
/// visible on the next read.
@Suite struct CachingTests {
    @Test func warmReadsCostNoQueriesAndSayHit() async throws {
        try await TestConduit.make().test { client, harness in
            let token = try await client.register("writer")
            let reader = try await client.register("reader")
            var slugs: [String] = []
            for index in 0..<5 { slugs.append(try await client.createArticle(token, title: "Post \(index)", tags: ["warm"])) }
            // Every signed-in request checks its token against the user's entry in the cache.
            #expect(try await client.send(.get, "/api/user", token: reader).status == .ok)
            for path in ["/api/articles?limit=5", "/api/articles/\(slugs[0])", "/api/profiles/writer", "/api/tags", "/api/articles?tag=warm"] {
                let cold = try await client.send(.get, path)
                #expect(cold.status == .ok)
                let (warm, queries) = try await QueryCount.measure { try await client.send(.get, path) }
                #expect(warm.status == .ok)
                #expect(queries == 0, "\(path) warm should not reach the database")
                #expect(warm.headers[.init("Cache-Status")!] == "fleet; hit; detail=l1", "\(path)")
                // A signed-in reader adds only the per-viewer bits: one read of two queries at most.
                let (viewed, viewerQueries) = try await QueryCount.measure { try await client.send(.get, path, token: reader) }
                #expect(viewed.status == .ok)
                #expect(viewerQueries <= 2, "\(path) with a viewer")
            }
            let missing = try await client.send(.get, "/api/profiles/nobody")
            #expect(missing.status == .notFound)
            let (again, queries) = try await QueryCount.measure { try await client.send(.get, "/api/profiles/nobody") }
            #expect(again.status == .notFound)
            #expect(queries == 0, "unknown names are cached as unknown")
        }
    }

    @Test func everyWriteIsVisibleOnTheNextRead() async throws {
        try await TestConduit.make().test { client, _ in
            let token = try await client.register("author")
            let fan = try await client.register("fan")
            let slug = try await client.createArticle(token, title: "Original", tags: ["one"])
            // Warm everything first.
            for path in ["/api/articles/\(slug)", "/api/articles", "/api/tags", "/api/profiles/author", "/api/articles?favorited=fan", "/api/articles?author=author"] {
                _ = try await client.send(.get, path)
            }
            _ = try await client.send(.get, "/api/user", token: token)

            // Favorite: the count on the article and in lists, and the favorited filter.
            #expect(try await client.send(.post, "/api/articles/\(slug)/favorite", token: fan).status == .ok)
            #expect(JSON(try await client.send(.get, "/api/articles/\(slug)"))["article"]["favoritesCount"].int == 1)
            #expect(JSON(try await client.send(.get, "/api/articles"))["articles"][0]["favoritesCount"].int == 1)
            #expect(JSON(try await client.send(.get, "/api/articles?favorited=fan"))["articlesCount"].int == 1)
            #expect(try await client.send(.delete, "/api/articles/\(slug)/favorite", token: fan).status == .ok)
            #expect(JSON(try await client.send(.get, "/api/articles?favorited=fan"))["articlesCount"].int == 0)
            #expect(JSON(try await client.send(.get, "/api/articles/\(slug)"))["article"]["favoritesCount"].int == 0)

            // Update: title (and slug) and tags.
            let updated = JSON(try await client.send(.put, "/api/articles/\(slug)", token: token, json: #"{"article":{"title":"Renamed","tagList":["two"]}}"#))
            let newSlug = try #require(updated["article"]["slug"].string)
            #expect(try await client.send(.get, "/api/articles/\(slug)").status == .notFound)
            #expect(JSON(try await client.send(.get, "/api/articles/\(newSlug)"))["article"]["title"].string == "Renamed")
            #expect(JSON(try await client.send(.get, "/api/articles"))["articles"][0]["title"].string == "Renamed")
            #expect(JSON(try await client.send(.get, "/api/tags"))["tags"].array.compactMap(\.string) == ["two"])

            // The author's profile, everywhere it shows.
            let bio = try await client.send(.put, "/api/user", token: token, json: #"{"user":{"bio":"new bio","username":"writer"}}"#)
            #expect(bio.status == .ok)
            #expect(JSON(try await client.send(.get, "/api/user", token: token))["user"]["bio"].string == "new bio")
            #expect(try await client.send(.get, "/api/profiles/author").status == .notFound)
            #expect(JSON(try await client.send(.get, "/api/profiles/writer"))["profile"]["bio"].string == "new bio")
            #expect(JSON(try await client.send(.get, "/api/articles/\(newSlug)"))["article"]["author"]["username"].string == "writer")
            #expect(JSON(try await client.send(.get, "/api/articles?author=author"))["articlesCount"].int == 0)
            #expect(JSON(try await client.send(.get, "/api/articles?author=writer"))["articlesCount"].int == 1)
            // The freed name can be taken, and is found at once.
            let taken = try await client.send(.post, "/api/users", json: #"{"user":{"username":"author","email":"second@example.com","password":"password123"}}"#)
            #expect(taken.status == .created)
            #expect(try await client.send(.get, "/api/profiles/author").status == .ok)

            // Delete: gone from the article cache, lists and tags.
            #expect(try await client.send(.delete, "/api/articles/\(newSlug)", token: token).status == .noContent)
            #expect(try await client.send(.get, "/api/articles/\(newSlug)").status == .notFound)
            #expect(JSON(try await client.send(.get, "/api/articles"))["articlesCount"].int == 0)
            #expect(JSON(try await client.send(.get, "/api/tags"))["tags"].array.isEmpty)
        }
    }
}
