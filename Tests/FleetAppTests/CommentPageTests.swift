@testable import FleetApp
import FleetData
import Hummingbird
import HummingbirdTesting
import Testing

/// An article's comments come a bounded page at a time, newest first: by default the
/// newest 100, and `limit` and `offset` as for articles. Before, every request returned
/// the whole thread, so a load test's most commented article (1,279 comments after a
/// minute) slowed every reader of it, and the server with them.
@Suite struct CommentPageTests {
    @Test func commentsComeNewestFirstInBoundedPages() async throws {
        // The cache off: every request's queries are counted.
        try await TestConduit.make(["cache.enabled": .init(.bool(false), isSecret: false)]).test { client, harness in
            let author = try await client.register("author")
            let slug = try await client.createArticle(author)
            // 105 comments from five commenters, read in bulk through the service.
            var commenters: [FleetID] = []
            for index in 0..<5 {
                let token = try await client.register("commenter\(index)")
                commenters.append(try #require(await harness.services.tokens.verify(token)).user)
            }
            for index in 0..<105 {
                _ = try await harness.services.comments.add(slug: slug, body: "c\(index + 1)", author: commenters[index % 5])
            }
            func numbers(_ query: String) async throws -> [Int] {
                let response = try await client.send(.get, "/api/articles/\(slug)/comments\(query)")
                #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                return JSON(response)["comments"].array.compactMap { $0["id"].int }
            }
            #expect(try await numbers("") == Array((6...105).reversed()))
            #expect(try await numbers("?limit=2&offset=3") == [102, 101])
            #expect(try await numbers("?limit=100&offset=100") == [5, 4, 3, 2, 1])
            #expect(try await numbers("?offset=105") == [])

            for query in ["limit=0", "limit=101", "offset=-1", "offset=10001", "limit=ten"] {
                let response = try await client.send(.get, "/api/articles/\(slug)/comments?\(query)")
                #expect(response.status == .unprocessableContent, "\(query)")
                #expect(!errors(response).isEmpty, "\(query)")
            }

            // No N+1: past a page of one (whose one author lives on one shard), the page
            // size does not change the number of queries.
            let counts = try await [1, 20, 100].asyncMap { limit in
                try await QueryCount.measure { try await client.send(.get, "/api/articles/\(slug)/comments?limit=\(limit)") }.1
            }
            #expect(counts[1] == counts[2] && counts[0] <= counts[1], "\(counts)")
            if harness.database.nodes.count == 1 { #expect(counts[0] == counts[1], "\(counts)") }
        }
    }
}
