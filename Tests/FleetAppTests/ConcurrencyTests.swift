import Hummingbird
import HummingbirdTesting
import Testing

/// Many writers at once through real sockets: every acknowledged write lands, and none
/// fails with "database is locked".
@Suite struct ConcurrencyTests {
    @Test func sixtyFourConcurrentWritersAllLand() async throws {
        // Every sign-up may wait for a core to hash its password; and the subject is the
        // single SQLite writer under contention, so no request is shed (a burst of 64
        // writers is what load shedding exists to refuse).
        try await TestConduit.make([
            "auth.bcrypt.queue": .init(.int(64), isSecret: false), "http.shedding.enabled": .init(.bool(false), isSecret: false),
        ]).test(.live) { client in
            let port = try #require(client.port)
            let owner = try await client.register("host")
            let shared = try await client.createArticle(owner, title: "Shared")
            let writers = 64
            // Per response, nil if it succeeded, else its status and body (to say why).
            let failures = try await withThrowingTaskGroup(of: [String?].self) { group in
                for index in 0..<writers {
                    group.addTask {
                        let connection = TestClient(host: "127.0.0.1", port: port)
                        connection.connect()
                        defer { Task { try? await connection.shutdown() } }
                        var failures: [String?] = []
                        func record(_ response: TestClient.Response) {
                            let failed = response.head.status != .created && response.head.status != .ok
                            failures.append(failed ? "\(response.head.status.code) \(String(buffer: response.body ?? ByteBuffer()))" : nil)
                        }
                        let registration = try await connection.post(
                            "/api/users", headers: [.contentType: "application/json"],
                            body: ByteBuffer(string: #"{"user":{"username":"w\#(index)","email":"w\#(index)@example.com","password":"password123"}}"#)
                        )
                        record(registration)
                        let token = JSON(value: try? JSONDecoding.object(registration.body ?? ByteBuffer()))["user"]["token"].string ?? ""
                        let auth: HTTPFields = [.authorization: "Token \(token)", .contentType: "application/json"]
                        for round in 0..<3 {
                            let article = try await connection.post(
                                "/api/articles", headers: auth,
                                // The same tags in opposite orders: writers must not deadlock on them.
                                body: ByteBuffer(string: #"{"article":{"title":"W\#(index) R\#(round)","description":"d","body":"b","tagList":\#(index % 2 == 0 ? #"["load","alpha","beta"]"# : #"["beta","alpha","load"]"#)}}"#)
                            )
                            record(article)
                        }
                        let favorite = try await connection.post("/api/articles/\(shared)/favorite", headers: auth, body: ByteBuffer())
                        record(favorite)
                        return failures
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(failures.count == writers * 5)
            #expect(failures.allSatisfy { $0 == nil }, "\(failures.compactMap { $0 })")

            let list = JSON(try await client.send(.get, "/api/articles?tag=load&limit=1"))
            #expect(list["articlesCount"].int == writers * 3)
            let beta = JSON(try await client.send(.get, "/api/articles?tag=beta&limit=1"))
            #expect(beta["articlesCount"].int == writers * 3)
            let all = JSON(try await client.send(.get, "/api/articles?limit=1"))
            #expect(all["articlesCount"].int == writers * 3 + 1)
            let article = try await client.eventually("/api/articles/\(shared)") { $0["article"]["favoritesCount"].int == writers }
            #expect(article["article"]["favoritesCount"].int == writers)
        }
    }
}

extension ConcurrencyTests {
    /// Creating, re-tagging and deleting articles with the same tags at once, in every
    /// order and case: tag rows are locked in one order everywhere, so PostgreSQL never
    /// picks a deadlock victim, and every count adds up.
    @Test func tagWritersInAnyMixNeverFail() async throws {
        try await TestConduit.make().test(.live) { client in
            let port = try #require(client.port)
            let token = try await client.register("tagger")
            var slugs: [String] = []
            for index in 0..<16 { slugs.append(try await client.createArticle(token, title: "Tagged \(index)", tags: ["Zed", "alpha", "Beta"])) }
            let orders = [#"["Zed","alpha","Beta","émile"]"#, #"["émile","Beta","alpha","Zed"]"#, #"["alpha","émile","Zed"]"#]
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for (index, slug) in slugs.enumerated() {
                    group.addTask {
                        let connection = TestClient(host: "127.0.0.1", port: port)
                        connection.connect()
                        defer { Task { try? await connection.shutdown() } }
                        let headers: HTTPFields = [.authorization: "Token \(token)", .contentType: "application/json"]
                        let tags = orders[index % orders.count]
                        switch index % 3 {
                        case 0:
                            return try await connection.delete("/api/articles/\(slug)", headers: headers, body: ByteBuffer()).head.status
                        case 1:
                            return try await connection.put("/api/articles/\(slug)", headers: headers, body: ByteBuffer(string: #"{"article":{"tagList":\#(tags)}}"#)).head.status
                        default:
                            return try await connection.post(
                                "/api/articles", headers: headers,
                                body: ByteBuffer(string: #"{"article":{"title":"New","description":"d","body":"b","tagList":\#(tags)}}"#)
                            ).head.status
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { (200..<300).contains($0.code) }, "\(statuses.map(\.code))")
            let tagged = JSON(try await client.send(.get, "/api/articles?tag=alpha&limit=100"))
            #expect(tagged["articlesCount"].int == tagged["articles"].array.count)
            #expect(tagged["articlesCount"].int == 16 - 6 + 5)
        }
    }
}

import Foundation

enum JSONDecoding {
    static func object(_ buffer: ByteBuffer) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
    }
}
