@testable import FleetApp
import FleetData
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// A JavaScript front end parses comment ids as doubles: every id must survive that, so
/// that what it sends back to delete a comment names the comment.
@Suite struct CommentIDTests {
    /// The id as `JSON.parse` gives it: a double.
    static func javascriptID(_ response: TestResponse) throws -> Double {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        return try #require(((object?["comment"] as? [String: Any])?["id"] as? NSNumber)?.doubleValue)
    }

    @Test func idsSurviveJavaScriptAndDeleteWorks() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("commenter")
            let slug = try await client.createArticle(token)
            var ids: [Double] = []
            for index in 0..<3 {
                let response = try await client.send(.post, "/api/articles/\(slug)/comments", token: token, json: #"{"comment":{"body":"c\#(index)"}}"#)
                #expect(response.status == .created)
                let id = try Self.javascriptID(response)
                #expect(id <= 9_007_199_254_740_991 && id == id.rounded())
                ids.append(id)
            }
            #expect(ids == [1, 2, 3])
            // What a front end sends back: the number it parsed, printed as JavaScript does.
            let delete = try await client.send(.delete, "/api/articles/\(slug)/comments/\(Int64(ids[1]))", token: token)
            #expect(delete.status == .noContent)
            let left = JSON(try await client.send(.get, "/api/articles/\(slug)/comments"))["comments"].array.compactMap { $0["body"].string }
            #expect(left == ["c2", "c0"])
            // Numbers are not reused: a new comment gets the next one.
            let next = try await client.send(.post, "/api/articles/\(slug)/comments", token: token, json: #"{"comment":{"body":"c3"}}"#)
            #expect(try Self.javascriptID(next) == 4)
        }
    }

    /// Data written before comments were numbered migrates: numbers follow the order the
    /// comments were written in, per article, and new ones continue from there.
    @Test func existingCommentsAreNumbered() async throws {
        let conduit = try await TestConduit.make()
        var reopened = conduit
        reopened.removesFiles = false
        let logger = Logger(label: "test")
        // The schema as it was before: migrations 1 and 2 only, then rows as the old code wrote them.
        let old = Migrator(Array(Schema.migrator.migrations.prefix(2)))
        let databases = try await Databases.open(conduit.settings, logger: logger)
        let slug = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await databases.run() }
            defer { group.cancelAll() }
            let ids = FleetIDGenerator()
            // A user's rows, and its name's directory entry, live on the shard its name hashes to.
            let user = ids.next(on: LogicalShard(hashing: "elder"))
            let articles = [ids.next(on: user.shard), ids.next(on: user.shard)]
            let node = databases.shards.node(for: user)
            try await old.migrate(node, logger: logger)
            try await node.transaction { db in
                try await db.execute(
                    """
                    INSERT INTO users (id, username, username_key, email, password_hash, articles_count, created_at, updated_at)
                    VALUES (\(bind: user), 'elder', 'elder', 'elder@example.com', 'x', 2, 0, 0)
                    """
                )
                try await db.execute("INSERT INTO directory (kind, name, user_id, created_at) VALUES ('username', 'elder', \(bind: user), 0)")
                for article in articles {
                    try await db.execute(
                        """
                        INSERT INTO articles (id, author_id, slug, title, description, body, tag_list, created_at, updated_at)
                        VALUES (\(bind: article), \(bind: user), \(bind: "old-\(article.base36)"), 'Old', 'd', 'b', '', 0, 0)
                        """
                    )
                }
                // Comments with 63-bit ids, alternating between the two articles.
                for index in 0..<5 {
                    try await db.execute(
                        """
                        INSERT INTO comments (id, article_id, author_id, body, created_at, updated_at)
                        VALUES (\(bind: ids.next(on: user.shard)), \(bind: articles[index % 2]), \(bind: user), \(bind: "old \(index)"), 0, 0)
                        """
                    )
                }
            }
            return "old-\(articles[0].base36)"
        }
        try await reopened.test { client in
            let comments = JSON(try await client.send(.get, "/api/articles/\(slug)/comments"))["comments"].array
            #expect(comments.map { $0["id"].int } == [3, 2, 1])
            #expect(comments.map { $0["body"].string } == ["old 4", "old 2", "old 0"])
        }
        try await conduit.test(.router) { client, harness in
            let token = try await harness.services.tokens.issue(for: try #require(await harness.services.profiles.userID(named: "elder")), version: 0)
            let next = try await client.send(.post, "/api/articles/\(slug)/comments", token: token, json: #"{"comment":{"body":"new"}}"#)
            #expect(JSON(next)["comment"]["id"].int == 4)
            #expect(try await client.send(.delete, "/api/articles/\(slug)/comments/2", token: token).status == .noContent)
        }
    }
}
