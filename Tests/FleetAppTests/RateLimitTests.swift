import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct RateLimitTests {
    static let authPolicy = HTTPField.Name("RateLimit-Policy")!

    @Test func loginsPastTheQuotaGet429WithHeadersAndAConduitError() async throws {
        let conduit = try await TestConduit.make([
            "ratelimit.enabled": .init(.bool(true), isSecret: false),
            "ratelimit.auth.per.minute": .init(.int(3), isSecret: false),
        ])
        try await conduit.test(.live) { client in
            let body = #"{"user":{"email":"nobody@example.com","password":"wrong"}}"#
            for _ in 0..<3 {
                let response = try await client.send(.post, "/api/users/login", json: body)
                #expect(response.status == .unauthorized)
                #expect(response.headers[Self.authPolicy] == #""auth";q=3;w=60"#)
            }
            let refused = try await client.send(.post, "/api/users/login", json: body)
            #expect(refused.status == .tooManyRequests)
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...20).contains(retryAfter))
            #expect(refused.headers[.init("RateLimit")!]?.hasPrefix(#""auth";r=0;t="#) == true)
            #expect(JSON(refused)["errors"]["body"][0].string?.hasPrefix("too many requests") == true)
            // Another client behind the (trusted, loopback) proxy has its own quota; one
            // that forges the header from outside would not, but the peer here is trusted.
            let other = try await client.send(.post, "/api/users/login", json: body, headers: [.init("X-Forwarded-For")!: "198.51.100.20"])
            #expect(other.status == .unauthorized)
            // Reads are a different class.
            #expect(try await client.send(.get, "/api/tags").status == .ok)
        }
    }

    /// The class goes with the route that matched, never the path as written: the ways
    /// of spelling the login path that reach its handler all count as `auth`, per client
    /// address, token or not.
    @Test func everySpellingOfTheLoginPathCountsAsAuth() async throws {
        let conduit = try await TestConduit.make([
            "ratelimit.enabled": .init(.bool(true), isSecret: false),
            "ratelimit.auth.per.minute": .init(.int(4), isSecret: false),
        ])
        try await conduit.test(.live) { client in
            let body = #"{"user":{"email":"nobody@example.com","password":"wrong"}}"#
            let signedIn = try await client.register("stuffer")  // the first `auth` request
            var statuses: [HTTPResponse.Status] = []
            for (path, token) in [("/api/users/login/", nil), ("//api/users/login", signedIn), ("/api//users/login", nil), ("/api/users/login", signedIn)] {
                let response = try await client.send(.post, path, token: token, json: body)
                statuses.append(response.status)
                if response.status != .notFound { #expect(response.headers[Self.authPolicy] == #""auth";q=4;w=60"#, "\(path)") }
            }
            // Sign-up plus three spellings used the quota of four; the fourth is refused.
            #expect(statuses.filter { $0 == .unauthorized }.count == 3, "\(statuses)")
            #expect(statuses.last == .tooManyRequests, "\(statuses)")
        }
    }

    /// A password change is a guess at a password too: it is counted as `auth`.
    @Test func passwordChangesCountAsAuth() async throws {
        let conduit = try await TestConduit.make([
            "ratelimit.enabled": .init(.bool(true), isSecret: false),
            "ratelimit.auth.per.minute": .init(.int(3), isSecret: false),
        ])
        try await conduit.test(.live) { client in
            let token = try await client.register("changer")
            // Bio changes are writes only.
            for round in 0..<5 {
                #expect(try await client.send(.put, "/api/user", token: token, json: #"{"user":{"bio":"b\#(round)"}}"#).status == .ok)
            }
            var statuses: [HTTPResponse.Status] = []
            for round in 0..<3 {
                let response = try await client.send(.put, "/api/user", token: token, json: #"{"user":{"password":"password\#(round)xx"}}"#)
                statuses.append(response.status)
            }
            #expect(statuses == [.ok, .ok, .tooManyRequests])
        }
    }
}
