@testable import FleetApp
import FleetData
import FleetHTTP
import FleetResilience
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Browsers send `Origin`: every error must keep its status, body and headers whether or
/// not they do, and carry the CORS headers that let a front end read it.
@Suite struct BrowserErrorTests {
    static let origin: HTTPFields = [.origin: "https://conduit.example"]

    /// Sends the request with and without `Origin` and checks both answers agree.
    static func bothWays(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: String? = nil
    ) async throws -> TestResponse {
        let plain = try await client.send(method, path, token: token, json: json)
        let browser = try await client.send(method, path, token: token, json: json, headers: origin)
        #expect(browser.status == plain.status, "\(method) \(path)")
        #expect(errors(browser) == errors(plain), "\(method) \(path)")
        for name in [HTTPField.Name.wwwAuthenticate, .retryAfter, RateLimitMiddleware<ConduitContext>.policyHeader] {
            #expect((browser.headers[name] == nil) == (plain.headers[name] == nil), "\(name) differs for \(method) \(path)")
        }
        #expect(browser.headers[.accessControlAllowOrigin] == "*", "\(method) \(path)")
        #expect(browser.headers[.accessControlExposeHeaders]?.contains("Retry-After") == true)
        #expect(plain.headers[.accessControlAllowOrigin] == nil)
        return browser
    }

    @Test func validationCredentialsAuthAndNotFoundKeepTheirMeaning() async throws {
        let conduit = try await TestConduit.make(["ratelimit.enabled": .init(.bool(true), isSecret: false)])
        try await conduit.test { client in
            let invalid = try await Self.bothWays(client, .post, "/api/users", json: #"{"user":{"username":"","email":"nope","password":"x"}}"#)
            #expect(invalid.status == .unprocessableContent)
            #expect(Set(errors(invalid).keys) == ["username", "email", "password"])
            #expect(invalid.headers[RateLimitMiddleware<ConduitContext>.policyHeader] == #""auth";q=20;w=60"#)

            let login = try await Self.bothWays(client, .post, "/api/users/login", json: #"{"user":{"email":"who@example.com","password":"password123"}}"#)
            #expect(login.status == .unauthorized)
            #expect(errors(login) == ["credentials": ["invalid"]])
            #expect(login.headers[.wwwAuthenticate] == "Token")

            let missing = try await Self.bothWays(client, .get, "/api/user")
            #expect(missing.status == .unauthorized && errors(missing) == ["token": ["is missing"]])
            #expect(missing.headers[.wwwAuthenticate] == "Token")

            let unknown = try await Self.bothWays(client, .get, "/api/articles/no-such-article-1")
            #expect(unknown.status == .notFound && errors(unknown) == ["article": ["not found"]])

            let token = try await client.register("browser")
            let taken = try await Self.bothWays(client, .post, "/api/users", json: #"{"user":{"username":"browser","email":"b2@example.com","password":"password123"}}"#)
            #expect(taken.status == .conflict && errors(taken) == ["username": ["has already been taken"]])
            _ = token
        }
    }

    @Test func tooManyRequestsKeepsRetryAfterAndTheLimitState() async throws {
        let conduit = try await TestConduit.make([
            "ratelimit.enabled": .init(.bool(true), isSecret: false), "ratelimit.read.per.minute": .init(.int(2), isSecret: false),
        ])
        try await conduit.test { client in
            _ = try await client.send(.get, "/api/tags", headers: Self.origin)
            _ = try await client.send(.get, "/api/tags", headers: Self.origin)
            let refused = try await client.send(.get, "/api/tags", headers: Self.origin)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] != nil)
            #expect(refused.headers[RateLimitMiddleware<ConduitContext>.stateHeader]?.hasPrefix(#""read";r=0"#) == true)
            #expect(refused.headers[.accessControlAllowOrigin] == "*")
            #expect(errors(refused)["body"]?.first?.hasPrefix("too many requests") == true)
        }
    }

    /// A full bcrypt queue is a 503 with `Retry-After`, to a browser as to anyone.
    @Test func aFullWorkQueueIs503WithRetryAfter() async throws {
        let conduit = try await TestConduit.make(["auth.bcrypt.queue": .init(.int(0), isSecret: false), "auth.bcrypt.cost": .init(.int(10), isSecret: false)])
        try await conduit.test(.live) { client in
            let port = try #require(client.port)
            let responses = try await withThrowingTaskGroup(of: TestClient.Response.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        let connection = TestClient(host: "127.0.0.1", port: port)
                        connection.connect()
                        defer { Task { try? await connection.shutdown() } }
                        return try await connection.post(
                            "/api/users", headers: [.contentType: "application/json", .origin: "https://conduit.example"],
                            body: ByteBuffer(string: #"{"user":{"username":"q\#(index)","email":"q\#(index)@example.com","password":"password123"}}"#)
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let busy = responses.filter { $0.head.status == .serviceUnavailable }
            #expect(!busy.isEmpty, "\(responses.map(\.head.status.code))")
            #expect(responses.allSatisfy { $0.head.status == .created || $0.head.status == .serviceUnavailable })
            for response in busy {
                #expect(response.head.headerFields[.retryAfter] == "1")
                #expect(response.head.headerFields[.accessControlAllowOrigin] == "*")
                #expect(String(buffer: response.body ?? ByteBuffer()).contains(#""server""#))
            }
        }
    }

    /// Errors of the storage layer map to their own statuses, never to a generic 500,
    /// wrapped by CORS or not.
    @Test(arguments: [
        (DatabaseError.unavailable("shard 1: down") as any Error, 503, "server"), (DatabaseError.acquireTimeout, 503, "server"),
        (DatabaseError.uniqueViolation("users_email"), 409, "body"), (BulkheadError(code: .full, bulkhead: "bcrypt"), 503, "server"),
        (DatabaseError.aborted("deadlock three times"), 503, "server"), (HTTPError(.serviceUnavailable), 503, "server"),
        (OverloadedError(retryAfterSeconds: 1), 503, "server"), (CircuitBreakerError(code: .open, breaker: "postgres.shard1"), 503, "server"),
    ])
    func layerErrorsKeepTheirStatus(error: any Error, status: Int, field: String) async throws {
        let router = Router()
        router.add(
            middleware: CrossOriginMiddleware(allowHeaders: [], allowMethods: [.get], exposeHeaders: [.retryAfter], maxAge: .seconds(60))
        )
        router.add(middleware: ErrorMiddleware(ConduitErrorResponder()))
        router.add(middleware: CORSMiddleware(allowOrigin: .all))  // wraps what passes through it
        router.get("fail") { _, _ -> String in throw error }
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/fail", method: .get, headers: Self.origin)
            #expect(Int(response.status.code) == status)
            #expect(errors(response)[field] != nil)
            if status == 503, !(error is HTTPError) { #expect(response.headers[.retryAfter] == "1") }
            #expect(response.headers[.accessControlAllowOrigin] == "*")
        }
    }
}
