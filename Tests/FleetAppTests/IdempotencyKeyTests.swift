@testable import FleetApp
import FleetData
import FleetSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Creates sent again under their `Idempotency-Key` (a client retrying after a lost
/// answer, or the load balancer after the instance died with the request in flight)
/// create once and answer with what the first one created.
@Suite struct IdempotencyKeyTests {
    static let article = #"{"article":{"title":"Once","description":"d","body":"b","tagList":["t"]}}"#

    static func keyed(_ key: String) -> HTTPFields { [IdempotencyKey.headerName: key] }

    static func articlesCount(_ client: any TestClientProtocol, author: String) async throws -> Int? {
        JSON(try await client.send(.get, "/api/articles?author=\(author)"))["articlesCount"].int
    }

    @Test func anArticleSentAgainWithItsKeyIsCreatedOnce() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("keeper")
            let first = try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed("k-1"))
            let again = try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed("k-1"))
            #expect(first.status == .created && again.status == .created)
            let slug = try #require(JSON(first)["article"]["slug"].string)
            #expect(JSON(again)["article"]["slug"].string == slug)
            #expect(JSON(again)["article"]["title"].string == "Once")
            #expect(try await Self.articlesCount(client, author: "keeper") == 1)

            // The same key with another request is the client's bug: refused, nothing made.
            let other = #"{"article":{"title":"Twice","description":"d","body":"b"}}"#
            let misused = try await client.send(.post, "/api/articles", token: token, json: other, headers: Self.keyed("k-1"))
            #expect(misused.status == .unprocessableContent)
            #expect(errors(misused)["Idempotency-Key"] == ["was already used for a different request"])
            // Another key, or none, creates: keys only name a request.
            #expect(try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed("k-2")).status == .created)
            #expect(try await client.send(.post, "/api/articles", token: token, json: Self.article).status == .created)
            #expect(try await Self.articlesCount(client, author: "keeper") == 3)

            // Keys are a user's own: another user's k-1 is another request.
            let stranger = try await client.register("stranger")
            let theirs = try await client.send(.post, "/api/articles", token: stranger, json: Self.article, headers: Self.keyed("k-1"))
            #expect(theirs.status == .created && JSON(theirs)["article"]["slug"].string != slug)

            // Deleted since: the retry learns that rather than creating it again.
            #expect(try await client.send(.delete, "/api/articles/\(slug)", token: token).status == .noContent)
            let late = try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed("k-1"))
            #expect(late.status == .notFound)
            #expect(try await Self.articlesCount(client, author: "keeper") == 2)
        }
    }

    @Test func aCommentSentAgainWithItsKeyIsCreatedOnce() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("talker")
            let slug = try await client.createArticle(token)
            let path = "/api/articles/\(slug)/comments"
            let body = #"{"comment":{"body":"only once"}}"#
            let first = try await client.send(.post, path, token: token, json: body, headers: Self.keyed("c-1"))
            let again = try await client.send(.post, path, token: token, json: body, headers: Self.keyed("c-1"))
            #expect(first.status == .created && again.status == .created)
            #expect(JSON(first)["comment"]["id"].int == 1)
            #expect(JSON(again)["comment"]["id"].int == 1)
            #expect(JSON(again)["comment"]["body"].string == "only once")
            #expect(JSON(again)["comment"]["author"]["username"].string == "talker")
            #expect(JSON(try await client.send(.get, path))["comments"].array.count == 1)

            let misused = try await client.send(.post, path, token: token, json: #"{"comment":{"body":"else"}}"#, headers: Self.keyed("c-1"))
            #expect(misused.status == .unprocessableContent)
            #expect(errors(misused)["Idempotency-Key"] == ["was already used for a different request"])
            #expect(JSON(try await client.send(.get, path))["comments"].array.count == 1)
        }
    }

    /// Many copies at once (a double-click, a retry racing the original): one is created,
    /// and every copy answers with it. On PostgreSQL all but the first to commit break the
    /// key's uniqueness and run again.
    @Test func copiesSentAtOnceCreateOne() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("racer")
            let slugs = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed("race"))
                        #expect(response.status == .created)
                        return JSON(response)["article"]["slug"].string
                    }
                }
                return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
            }
            #expect(slugs.count == 1 && !slugs.contains(nil))
            #expect(try await Self.articlesCount(client, author: "racer") == 1)
        }
    }

    @Test func malformedKeysAreRefusedBeforeAnythingIsCreated() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("sloppy")
            for key in ["", "has space", String(repeating: "k", count: 256), "tab\tinside"] {
                let response = try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed(key))
                #expect(response.status == .unprocessableContent, "\(key.debugDescription)")
                #expect(errors(response)["Idempotency-Key"]?.isEmpty == false)
            }
            // 255 visible ASCII characters is the longest key.
            let longest = String(repeating: "k", count: 255)
            #expect(try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed(longest)).status == .created)
            #expect(try await Self.articlesCount(client, author: "sloppy") == 1)
        }
    }

    /// A browser may send the header: the preflight allows it.
    @Test func browsersMaySendTheKey() async throws {
        try await TestConduit.make().test { client in
            let preflight = try await client.send(
                .options, "/api/articles",
                headers: [.origin: "https://app.example", .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "authorization,content-type,idempotency-key"]
            )
            let allowed = preflight.headers[.accessControlAllowHeaders]?.lowercased() ?? ""
            #expect(allowed.contains("idempotency-key"))
        }
    }

    /// The composition root runs `KeyedWriteRetention` where jobs run: a key from two days
    /// ago is deleted and a fresh one kept. Two starts on the same data, so that a sweep
    /// (the first is at start) surely comes after the keys were written.
    @Test func anAppThatRunsJobsDeletesExpiredKeys() async throws {
        var conduit = try await TestConduit.make()
        conduit.removesFiles = false
        defer { try? FileManager.default.removeItem(at: conduit.directory) }
        let day = KeyedWrite.lifetime.inMilliseconds
        @Sendable func keys(_ harness: TestConduit.Harness) async throws -> [String] {
            try await harness.database.nodes[0].readLatest { db in
                try await db.query("SELECT client_key FROM idempotency_keys ORDER BY client_key").map { try $0.decode(at: 0, as: String.self) }
            }
        }
        try await conduit.test { _, harness in
            let now = harness.services.now()
            try await harness.database.nodes[0].transaction { db in
                for (key, age) in [("stale", 2 * day), ("fresh", Int64(0))] {
                    try await db.execute(
                        """
                        INSERT INTO idempotency_keys (user_id, client_key, fingerprint, resource_id, created_at)
                        VALUES (1, \(bind: key), 'f', 1, \(bind: now - age))
                        """
                    )
                }
            }
        }
        try await conduit.test { _, harness in
            let deadline = ContinuousClock.now + .seconds(30)
            while try await keys(harness) != ["fresh"], ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(try await keys(harness) == ["fresh"])
        }
    }

    /// Keys are kept a day: past that, the same key is a new request.
    @Test func keysExpire() async throws {
        try await TestConduit.make().test { client, harness in
            let token = try await client.register("forgetful")
            #expect(try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed("day")).status == .created)
            // Not yet: a key younger than a day stays.
            try await KeyedWrite.expire(in: harness.database, now: harness.services.now())
            #expect(try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed("day")).status == .created)
            #expect(try await Self.articlesCount(client, author: "forgetful") == 1)
            try await KeyedWrite.expire(in: harness.database, now: harness.services.now() + KeyedWrite.lifetime.inMilliseconds + 1)
            #expect(try await client.send(.post, "/api/articles", token: token, json: Self.article, headers: Self.keyed("day")).status == .created)
            #expect(try await Self.articlesCount(client, author: "forgetful") == 2)
        }
    }
}
