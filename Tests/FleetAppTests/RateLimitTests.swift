import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct RateLimitTests {
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
                #expect(response.headers[.init("RateLimit-Policy")!] == #""auth";q=3;w=60"#)
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
}
