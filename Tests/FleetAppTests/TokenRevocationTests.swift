@testable import FleetApp
import FleetTestSupport
import Hummingbird
import HummingbirdTesting
import Testing

/// A change of password or e-mail address revokes every token issued before it; other
/// changes leave tokens alone. An operator can revoke a user's tokens at once.
@Suite struct TokenRevocationTests {
    @Test func newCredentialsRevokeOldTokens() async throws {
        try await TestConduit.make().test { client in
            let first = try await client.register("rotator")
            let second = JSON(try await client.send(
                .post, "/api/users/login", json: #"{"user":{"email":"rotator@example.com","password":"password123"}}"#
            ))["user"]["token"].string
            let other = try #require(second)
            // A bio or username change keeps every token.
            let renamed = try await client.send(.put, "/api/user", token: first, json: #"{"user":{"bio":"b","username":"rotator2"}}"#)
            #expect(JSON(renamed)["user"]["token"].string == first)
            #expect(try await client.send(.get, "/api/user", token: other).status == .ok)

            var valid = [first, other]
            for change in [#"{"user":{"password":"another-password"}}"#, #"{"user":{"email":"moved@example.com"}}"#] {
                let response = try await client.send(.put, "/api/user", token: valid[0], json: change)
                #expect(response.status == .ok)
                let fresh = try #require(JSON(response)["user"]["token"].string)
                for old in valid {
                    #expect(fresh != old)
                    let refused = try await client.send(.get, "/api/user", token: old)
                    #expect(refused.status == .unauthorized)
                    #expect(errors(refused) == ["token": ["is invalid"]])
                }
                #expect(try await client.send(.get, "/api/user", token: fresh).status == .ok)
                valid = [fresh]
            }
        }
    }

    @Test func anOperatorRevokesAUsersTokens() async throws {
        try await TestConduit.make().test { client, harness in
            let token = try await client.register("leaked")
            let bystander = try await client.register("bystander")
            try await harness.fleet.admin.test(.router) { admin in
                let revoked = try await admin.execute(uri: "/admin/users/leaked/revoke-tokens", method: .post)
                #expect(revoked.status == .noContent)
                let unknown = try await admin.execute(uri: "/admin/users/nobody/revoke-tokens", method: .post)
                #expect(unknown.status == .notFound)
            }
            #expect(try await client.send(.get, "/api/user", token: token).status == .unauthorized)
            #expect(try await client.send(.get, "/api/user", token: bystander).status == .ok)
            let again = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"leaked@example.com","password":"password123"}}"#)
            let fresh = try #require(JSON(again)["user"]["token"].string)
            #expect(try await client.send(.get, "/api/user", token: fresh).status == .ok)
        }
    }

    /// Revocation reaches every instance: through the cache invalidations Redis carries.
    @Test(.enabled(if: RedisServerProcess.enabled, "needs redis-server"))
    func revocationReachesEveryInstance() async throws {
        let server = try RedisServerProcess()
        try await TestConduit.make(["redis.url": .init(.string(server.url), isSecret: true)]).testPair { a, b, harnessA, harnessB in
            try await harnessA.waitForRedis()
            try await harnessB.waitForRedis()
            let token = try await a.register("roamer")
            #expect(try await b.send(.get, "/api/user", token: token).status == .ok)  // cached on B now
            let changed = try await a.send(.put, "/api/user", token: token, json: #"{"user":{"password":"new-password-1"}}"#)
            #expect(changed.status == .ok)
            #expect(try await b.send(.get, "/api/user", token: token).status == .unauthorized)
            let fresh = try #require(JSON(changed)["user"]["token"].string)
            #expect(try await b.send(.get, "/api/user", token: fresh).status == .ok)
        }
    }
}
