@testable import FleetApp
import FleetData
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Concurrent writes to one article, through real sockets: each write sees the last, so
/// no update is lost and no counter moves twice. On PostgreSQL (READ COMMITTED, many
/// connections) this is what row locks decide; on SQLite writes take turns anyway.
@Suite struct LostUpdateTests {
    /// Runs `requests` at once, each on its own connection; returns their statuses in order.
    static func together(port: Int, _ requests: [(HTTPRequest.Method, String, String?, String)]) async throws -> [HTTPResponse.Status] {
        try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status).self) { group in
            for (index, (method, path, body, token)) in requests.enumerated() {
                group.addTask {
                    let connection = TestClient(host: "127.0.0.1", port: port)
                    connection.connect()
                    defer { Task { try? await connection.shutdown() } }
                    var headers: HTTPFields = [.authorization: "Token \(token)"]
                    if body != nil { headers[.contentType] = "application/json" }
                    let response = try await connection.execute(.init(path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }))
                    return (index, response.head.status)
                }
            }
            var statuses = [HTTPResponse.Status](repeating: .ok, count: requests.count)
            for try await (index, status) in group { statuses[index] = status }
            return statuses
        }
    }

    @Test func racingWritesLoseNothingAndCountOnce() async throws {
        try await TestConduit.make().test(.live) { client, harness in
            let port = try #require(client.port)
            let token = try await client.register("racer")
            let rounds = 24
            var slugs: [String] = []
            for round in 0..<rounds { slugs.append(try await client.createArticle(token, title: "Race \(round)", tags: ["shared", "r\(round % 3)"])) }
            let survivor = try await client.createArticle(token, title: "Survivor", tags: ["shared"])

            for (round, slug) in slugs.enumerated() {
                switch round % 3 {
                case 0:
                    // Two deletes at once: one succeeds, the other finds nothing.
                    let statuses = try await Self.together(port: port, [(.delete, "/api/articles/\(slug)", nil, token), (.delete, "/api/articles/\(slug)", nil, token)])
                    #expect(statuses.sorted { $0.code < $1.code } == [.noContent, .notFound], "\(statuses)")
                case 1:
                    // A partial update racing a delete: either order, never tags on a deleted article.
                    let statuses = try await Self.together(port: port, [
                        (.put, "/api/articles/\(slug)", #"{"article":{"tagList":["revived","shared"]}}"#, token), (.delete, "/api/articles/\(slug)", nil, token),
                    ])
                    #expect(statuses[1] == .noContent && [.ok, .notFound].contains(statuses[0]), "\(statuses)")
                default:
                    // Two partial updates of different fields: both land.
                    let statuses = try await Self.together(port: port, [
                        (.put, "/api/articles/\(slug)", #"{"article":{"description":"from one"}}"#, token),
                        (.put, "/api/articles/\(slug)", #"{"article":{"body":"from two"}}"#, token),
                    ])
                    #expect(statuses == [.ok, .ok])
                    let article = JSON(try await client.send(.get, "/api/articles/\(slug)"))["article"]
                    #expect(article["description"].string == "from one" && article["body"].string == "from two", "a field was lost")
                }
            }
            // Every counter agrees with the rows it counts, on every shard.
            let left = rounds / 3 + 1  // the updated articles, and the survivor
            let page = JSON(try await client.send(.get, "/api/articles?limit=100"))
            #expect(page["articlesCount"].int == left)
            #expect(page["articles"].array.count == left)
            #expect(JSON(try await client.send(.get, "/api/articles?tag=shared"))["articlesCount"].int == left)
            #expect(JSON(try await client.send(.get, "/api/articles?tag=revived"))["articlesCount"].int == 0)
            #expect(JSON(try await client.send(.get, "/api/articles?author=racer"))["articlesCount"].int == left)
            for node in harness.database.nodes {
                let mismatches = try await node.readLatest { db in
                    var found: [String] = []
                    let tagCounts = try await db.query(
                        """
                        SELECT t.name, t.articles_count, (SELECT COUNT(*) FROM article_tags x WHERE x.tag = t.name) FROM tags t
                        """
                    )
                    for row in tagCounts where try row.decode(at: 1, as: Int.self) != (try row.decode(at: 2, as: Int.self)) {
                        found.append("tag \(try row.decode(at: 0, as: String.self))")
                    }
                    let orphans = try await db.first("SELECT COUNT(*) FROM article_tags WHERE article_id NOT IN (SELECT id FROM articles)")
                    if try orphans?.decode(at: 0, as: Int.self) != 0 { found.append("tags of deleted articles") }
                    let users = try await db.query(
                        "SELECT id FROM users u WHERE articles_count != (SELECT COUNT(*) FROM articles a WHERE a.author_id = u.id)"
                    )
                    if !users.isEmpty { found.append("users.articles_count") }
                    let counted = try await db.first("SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) FROM counters WHERE name = 'articles'")
                    let rows = try await db.first("SELECT COUNT(*) FROM articles")
                    if try counted?.decode(at: 0, as: Int.self) != (try rows?.decode(at: 0, as: Int.self)) { found.append("counters") }
                    return found
                }
                #expect(mismatches.isEmpty, "\(mismatches)")
            }
            _ = survivor
        }
    }
}
