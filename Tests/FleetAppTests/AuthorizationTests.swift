import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct AuthorizationTests {
    @Test func onlyTheAuthorMayChangeOrDeleteAnArticle() async throws {
        try await TestConduit.make().test { client in
            let owner = try await client.register("owner")
            let other = try await client.register("other")
            let slug = try await client.createArticle(owner)
            let update = try await client.send(.put, "/api/articles/\(slug)", token: other, json: #"{"article":{"title":"Mine now"}}"#)
            #expect(update.status == .forbidden)
            #expect(errors(update)["article"] == ["forbidden"])
            let delete = try await client.send(.delete, "/api/articles/\(slug)", token: other)
            #expect(delete.status == .forbidden)
            let still = try await client.send(.get, "/api/articles/\(slug)")
            #expect(JSON(still)["article"]["title"].string == "A title")
        }
    }

    @Test func onlyTheCommenterMayDeleteAComment() async throws {
        try await TestConduit.make().test { client in
            let owner = try await client.register("owner")
            let other = try await client.register("other")
            let slug = try await client.createArticle(owner)
            let comment = JSON(try await client.send(.post, "/api/articles/\(slug)/comments", token: owner, json: #"{"comment":{"body":"mine"}}"#))
            let id = try #require(comment["comment"]["id"].int)
            let delete = try await client.send(.delete, "/api/articles/\(slug)/comments/\(id)", token: other)
            #expect(delete.status == .forbidden)
            #expect(errors(delete)["comment"] == ["forbidden"])
            let own = try await client.send(.delete, "/api/articles/\(slug)/comments/\(id)", token: owner)
            #expect(own.status == .noContent)
        }
    }

    @Test(arguments: [
        (HTTPRequest.Method.post, "/api/articles"), (.put, "/api/user"), (.get, "/api/user"), (.get, "/api/articles/feed"),
        (.post, "/api/profiles/x/follow"), (.delete, "/api/profiles/x/follow"), (.post, "/api/articles/s/favorite"),
        (.delete, "/api/articles/s/favorite"), (.post, "/api/articles/s/comments"), (.delete, "/api/articles/s/comments/1"),
        (.put, "/api/articles/s"), (.delete, "/api/articles/s"),
    ])
    func everyWriteNeedsAToken(method: HTTPRequest.Method, path: String) async throws {
        try await TestConduit.make().test { client in
            let response = try await client.send(method, path, json: method == .get || method == .delete ? nil : "{}")
            #expect(response.status == .unauthorized)
            #expect(errors(response)["token"] == ["is missing"])
        }
    }

    @Test func followingYourselfIsRefused() async throws {
        try await TestConduit.make().test { client in
            let me = try await client.register("narcissus")
            let response = try await client.send(.post, "/api/profiles/narcissus/follow", token: me)
            #expect(response.status == .unprocessableContent)
        }
    }
}
