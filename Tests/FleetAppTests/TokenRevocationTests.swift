@testable import FleetApp
import FleetTestSupport
import Hummingbird
import HummingbirdTesting
import Testing

/// A change of password or e-mail address revokes every other token of the user (the
/// one that made it stays: that client is still signed in); other changes leave tokens
/// alone. An operator can revoke all of a user's tokens at once.
@Suite struct TokenRevocationTests {
    func login(_ client: some TestClientProtocol, _ email: String, _ password: String = "password123") async throws -> String {
        let response = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"\#(email)","password":"\#(password)"}}"#)
        return try #require(JSON(response)["user"]["token"].string)
    }

    @Test func newCredentialsRevokeEveryOtherToken() async throws {
        try await TestConduit.make().test { client in
            let phone = try await client.register("rotator")
            var laptop = try await login(client, "rotator@example.com")
            // A bio or username change keeps every token.
            let renamed = try await client.send(.put, "/api/user", token: phone, json: #"{"user":{"bio":"b","username":"rotator2"}}"#)
            #expect(JSON(renamed)["user"]["token"].string == phone)
            #expect(try await client.send(.get, "/api/user", token: laptop).status == .ok)

            let changes = [
                (#"{"user":{"password":"another-password"}}"#, "rotator@example.com", "another-password"),
                (#"{"user":{"email":"moved@example.com"}}"#, "moved@example.com", "another-password"),
            ]
            for (change, email, password) in changes {
                let response = try await client.send(.put, "/api/user", token: phone, json: change)
                #expect(response.status == .ok)
                // The token that made the change goes on working, and is the one returned.
                #expect(JSON(response)["user"]["token"].string == phone)
                #expect(try await client.send(.get, "/api/user", token: phone).status == .ok)
                let refused = try await client.send(.get, "/api/user", token: laptop)
                #expect(refused.status == .unauthorized)
                #expect(errors(refused) == ["token": ["is invalid"]])
                laptop = try await login(client, email, password)
                #expect(try await client.send(.get, "/api/user", token: laptop).status == .ok)
            }
            // A change made from the laptop now revokes the phone's token, kept until now.
            #expect(try await client.send(.put, "/api/user", token: laptop, json: #"{"user":{"password":"third-password"}}"#).status == .ok)
            #expect(try await client.send(.get, "/api/user", token: phone).status == .unauthorized)
            #expect(try await client.send(.get, "/api/user", token: laptop).status == .ok)
        }
    }

    /// The check before a request reads the cache, which another instance may not have
    /// updated yet: a change of credentials checks the token again under the row's lock,
    /// so a token revoked a moment ago cannot become the one that is kept.
    @Test func aRevokedTokenCannotChangeCredentials() async throws {
        try await TestConduit.make().test { client, harness in
            let stolen = try await client.register("victim")
            let credentials = try #require(await harness.services.tokens.verify(stolen))
            try await harness.fleet.admin.test(.router) { admin in
                let revoked = try await admin.execute(uri: "/admin/users/victim/revoke-tokens", method: .post)
                #expect(revoked.status == .noContent)
            }
            var change = UserService.Update()
            change.email = .value("attacker@example.com")
            await #expect(throws: ConduitError.invalidToken) { try await harness.services.users.update(credentials, with: change) }
            let login = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"victim@example.com","password":"password123"}}"#)
            #expect(login.status == .ok)
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
            let other = try await login(b, "roamer@example.com")
            #expect(try await b.send(.get, "/api/user", token: other).status == .ok)  // cached on B now
            let changed = try await a.send(.put, "/api/user", token: token, json: #"{"user":{"password":"new-password-1"}}"#)
            #expect(changed.status == .ok)
            #expect(try await b.send(.get, "/api/user", token: other).status == .unauthorized)
            #expect(try await b.send(.get, "/api/user", token: token).status == .ok)
        }
    }
}
