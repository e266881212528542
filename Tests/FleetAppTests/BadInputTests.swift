@testable import FleetApp
import FleetData
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Every class of bad input gets a clear 4xx in the Conduit shape, never a 500, and
/// leaves what is stored untouched.
@Suite struct BadInputTests {
    @Test func malformedAndTruncatedJSON() async throws {
        try await TestConduit.make().test { client in
            for body in [#"{"user":{"username":"a","email":"a@b.c","password":"pass"#, "{{{{", "null", "[]", "\"user\"", ""] {
                let response = try await client.send(.post, "/api/users", json: body)
                #expect((400..<500).contains(Int(response.status.code)), "\(body) → \(response.status)")
                #expect(!errors(response).isEmpty, "\(body)")
            }
            let bytes = ByteBuffer(bytes: [0xFF, 0xFE, 0x00, 0x7B])
            let binary = try await client.executeRequest(uri: "/api/users", method: .post, headers: [:], body: bytes)
            #expect((400..<500).contains(Int(binary.status.code)))
        }
    }

    @Test func wrongTypesNameTheField() async throws {
        try await TestConduit.make().test { client in
            let response = try await client.send(.post, "/api/users", json: #"{"user":{"username":42,"email":"a@b.c","password":"password123"}}"#)
            #expect(response.status == .unprocessableContent)
            #expect(errors(response)["username"] != nil)
            let token = try await client.register("typist")
            let article = try await client.send(.post, "/api/articles", token: token, json: #"{"article":{"title":"t","description":"d","body":"b","tagList":"notalist"}}"#)
            #expect(article.status == .unprocessableContent)
            #expect(errors(article)["tagList"] != nil)
        }
    }

    @Test func missingAndEmptyFields() async throws {
        try await TestConduit.make().test { client in
            let missing = try await client.send(.post, "/api/users", json: #"{"user":{}}"#)
            #expect(missing.status == .unprocessableContent)
            #expect(Set(errors(missing).keys) == ["username", "email", "password"])
            let blank = try await client.send(.post, "/api/users", json: #"{"user":{"username":"   ","email":"","password":""}}"#)
            #expect(Set(errors(blank).keys) == ["username", "email", "password"])
            let noEnvelope = try await client.send(.post, "/api/users", json: #"{"username":"a"}"#)
            #expect(noEnvelope.status == .unprocessableContent)
            #expect(errors(noEnvelope)["user"] == ["can't be blank"])
            let token = try await client.register("writer")
            let article = try await client.send(.post, "/api/articles", token: token, json: #"{"article":{"title":"","description":" "}}"#)
            #expect(Set(errors(article).keys) == ["title", "description", "body"])
            let slug = try await client.createArticle(token)
            let comment = try await client.send(.post, "/api/articles/\(slug)/comments", token: token, json: #"{"comment":{"body":""}}"#)
            #expect(errors(comment)["body"] == ["can't be blank"])
        }
    }

    @Test func overlongAndInvalidFields() async throws {
        try await TestConduit.make().test { client in
            let longName = String(repeating: "n", count: 65)
            let response = try await client.send(.post, "/api/users", json: #"{"user":{"username":"\#(longName)","email":"not-an-email","password":"short"}}"#)
            #expect(response.status == .unprocessableContent)
            #expect(errors(response)["username"]?.first?.contains("too long") == true)
            #expect(errors(response)["email"] == ["is invalid"])
            #expect(errors(response)["password"]?.first?.contains("too short") == true)
            let token = try await client.register("author")
            let longTitle = String(repeating: "t", count: 300)
            let article = try await client.send(.post, "/api/articles", token: token, json: #"{"article":{"title":"\#(longTitle)","description":"d","body":"b","tagList":["a\u0001b"]}}"#)
            #expect(errors(article)["title"]?.first?.contains("too long") == true)
            #expect(errors(article)["tagList"] != nil)
            let image = try await client.send(.put, "/api/user", token: token, json: #"{"user":{"image":"javascript:alert(1)"}}"#)
            #expect(errors(image)["image"] != nil)
        }
    }

    @Test func oversizedBodyGets413() async throws {
        try await TestConduit.make(["http.body.limit.bytes": .init(.int(4096), isSecret: false)]).test { client in
            let token = try await client.register("big")
            let body = String(repeating: "x", count: 10_000)
            let response = try await client.send(.post, "/api/articles", token: token, json: #"{"article":{"title":"t","description":"d","body":"\#(body)"}}"#)
            #expect(response.status == .contentTooLarge)
            #expect(errors(response)["body"] != nil)
        }
    }

    @Test(arguments: ["limit=-1", "limit=0", "limit=101", "limit=abc", "offset=-5", "offset=1.5", "limit=99999999999999999999999"])
    func badPaginationIs422(query: String) async throws {
        try await TestConduit.make().test { client in
            let response = try await client.send(.get, "/api/articles?\(query)")
            #expect(response.status == .unprocessableContent)
            #expect(!errors(response).isEmpty)
        }
    }

    @Test func unknownSlugsIdsAndNames() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("finder")
            let slug = try await client.createArticle(token)
            for path in ["/api/articles/nope", "/api/articles/nope-zzzzzz", "/api/articles/\(slug)x", "/api/articles/-", "/api/articles/%00"] {
                let response = try await client.send(.get, path)
                #expect(response.status == .notFound, "\(path)")
                #expect(errors(response)["article"] == ["not found"], "\(path)")
            }
            for id in ["999999", "abc", "-1", "99999999999999999999999"] {
                let response = try await client.send(.delete, "/api/articles/\(slug)/comments/\(id)", token: token)
                #expect(response.status == .notFound, "\(id)")
            }
            let profile = try await client.send(.get, "/api/profiles/\(String(repeating: "q", count: 500))")
            #expect(profile.status == .notFound)
        }
    }

    @Test func forgedExpiredAndGarbageTokens() async throws {
        try await TestConduit.make().test { client, harness in
            let tokens = harness.services.tokens
            let good = try await client.register("holder")
            let forger = await TokenService(secret: String(repeating: "k", count: 40), lifetime: .seconds(3600))
            let forged = try await forger.issue(for: FleetID(rawValue: 1), version: 0)
            let parts = good.split(separator: ".")
            let tampered = parts[0] + "." + parts[1] + "." + parts[2].reversed()
            let expired = try await tokens.issue(for: FleetID(rawValue: 1), version: 0, now: Date(timeIntervalSinceNow: -40 * 86_400))
            for token in [forged, String(tampered), expired, "garbage", "a.b.c", String(repeating: "x", count: 10_000)] {
                let response = try await client.send(.get, "/api/user", headers: [.authorization: "Token \(token)"])
                #expect(response.status == .unauthorized, "\(token.prefix(20))")
                #expect(errors(response)["token"] != nil)
            }
            for header in ["Basic \(good)", "Token", "Token    ", good] {
                let response = try await client.send(.get, "/api/user", headers: [.authorization: header])
                #expect(response.status == .unauthorized, "\(header.prefix(20))")
            }
            let ok = try await client.send(.get, "/api/user", token: good)
            #expect(ok.status == .ok)
            #expect(JSON(ok)["user"]["token"].string == good)
        }
    }

    @Test func badInputLeavesStoredDataIntact() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("keeper")
            let slug = try await client.createArticle(token, title: "Keep me", tags: ["kept"])
            let hostile = [
                #"{"article":{"title":"'; DROP TABLE articles; --"}}"#,
                #"{"article":{"title":null}}"#,
                #"{"article":{"body":""}}"#,
                #"{"article":{"tagList":[1,2]}}"#,
                #"{"article":"#,
            ]
            for body in hostile {
                _ = try await client.send(.put, "/api/articles/\(slug)", token: token, json: body)
            }
            let current = JSON(try await client.send(.get, "/api/articles"))["articles"][0]
            let article = JSON(try await client.send(.get, "/api/articles/\(current["slug"].string ?? "")"))
            // The SQL-looking title was stored as plain text, and nothing was dropped.
            #expect(article["article"]["title"].string == "'; DROP TABLE articles; --")
            #expect(article["article"]["body"].string == "b")
            #expect(article["article"]["tagList"][0].string == "kept")
            let list = JSON(try await client.send(.get, "/api/articles"))
            #expect(list["articlesCount"].int == 1)
        }
    }
}
