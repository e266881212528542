import FleetHTTP
import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import Testing

/// Renders errors plainly: `{"error": "<what>"}`, with a status per kind. The real
/// application supplies its own (Conduit's shape); FleetHTTP only routes errors to it.
struct PlainErrorResponder: ErrorResponder {
    func response(to error: any Error, request: Request, logger: Logger) -> Response {
        let (status, what): (HTTPResponse.Status, String) =
            switch error {
            case let error as RequestBodyError where error.code == .tooLarge: (.contentTooLarge, "too large")
            case is RequestBodyError: (.unprocessableContent, "empty")
            case is DecodingError: (.unprocessableContent, "undecodable")
            case let error as HTTPError: (error.status, "http")
            case is Forbidden: (.forbidden, "forbidden")
            case is OverloadedError: (.serviceUnavailable, "overloaded")
            default: (.internalServerError, "internal")
            }
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"\#(what)"}"#)))
    }
}

struct Forbidden: Error {}

/// A small app exercising each middleware on its own, with no domain behind it.
func makeApp(bodyLimit: Int = 1024, corsInside: Bool = false) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: RequestIDMiddleware())
    router.add(
        middleware: CrossOriginMiddleware(
            allowHeaders: [.contentType], allowMethods: [.get, .post], exposeHeaders: [.retryAfter], maxAge: .seconds(60)
        )
    )
    router.add(middleware: ErrorMiddleware(PlainErrorResponder()))
    // Hummingbird's CORS middleware wraps the errors passing through it.
    if corsInside { router.add(middleware: CORSMiddleware(allowOrigin: .all)) }
    router.add(middleware: BodyLimitMiddleware(maxBytes: bodyLimit))
    struct Input: Decodable { let user: Inner }
    struct Inner: Decodable { let name: String; let age: Int? }
    router.post("echo") { request, context -> String in
        let input = try await request.decodeJSON(as: Input.self, context: context)
        return input.user.name
    }
    router.get("fail") { _, _ -> String in
        struct Secret: Error { let password = "hunter2" }
        throw Secret()
    }
    router.get("forbidden") { _, _ -> String in throw Forbidden() }
    router.get("headered") { _, _ -> String in throw HeaderedError(Forbidden(), headers: [.retryAfter: "7"]) }
    return Application(router: router)
}

func body(_ response: TestResponse) -> String { String(buffer: response.body) }

@Suite struct ErrorMiddlewareTests {
    @Test func everyErrorGoesThroughTheResponder() async throws {
        try await makeApp().test(.router) { client in
            let forbidden = try await client.execute(uri: "/forbidden", method: .get)
            #expect(forbidden.status == .forbidden && body(forbidden) == #"{"error":"forbidden"}"#)
            let failed = try await client.execute(uri: "/fail", method: .get)
            #expect(failed.status == .internalServerError && !body(failed).contains("hunter2"))
            let unknown = try await client.execute(uri: "/nowhere", method: .get)
            #expect(unknown.status == .notFound && body(unknown) == #"{"error":"http"}"#)
            let empty = try await client.execute(uri: "/echo", method: .post)
            #expect(empty.status == .unprocessableContent && body(empty) == #"{"error":"empty"}"#)
            let bad = try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: #"{"user": {"name": 5}}"#))
            #expect(bad.status == .unprocessableContent && body(bad) == #"{"error":"undecodable"}"#)
        }
    }

    /// A browser sends `Origin`: the error keeps its status, body and headers, and gets
    /// the CORS headers that let a front end read it.
    @Test func errorsToABrowserKeepTheirMeaningAndCarryCORS() async throws {
        for corsInside in [false, true] {
            try await makeApp(corsInside: corsInside).test(.router) { client in
                for origin in [nil, "https://app.example"] as [String?] {
                    let headers: HTTPFields = origin.map { [.origin: $0] } ?? [:]
                    let response = try await client.execute(uri: "/headered", method: .get, headers: headers)
                    #expect(response.status == .forbidden, "Origin \(origin ?? "none"), CORS inside: \(corsInside)")
                    #expect(body(response) == #"{"error":"forbidden"}"#)
                    #expect(response.headers[.retryAfter] == "7")
                    #expect(response.headers[.accessControlAllowOrigin] == (origin == nil ? nil : "*"))
                    if origin != nil { #expect(response.headers[.accessControlExposeHeaders]?.lowercased() == "retry-after") }
                }
            }
        }
    }

    @Test func preflightsAreAnswered() async throws {
        try await makeApp().test(.router) { client in
            let response = try await client.execute(
                uri: "/echo", method: .options, headers: [.origin: "https://app.example", .accessControlRequestMethod: "POST"]
            )
            #expect(response.status == .noContent)
            #expect(response.headers[.accessControlAllowMethods] == "GET, POST")
            #expect(response.headers[.accessControlAllowOrigin] == "*")
        }
    }
}

@Suite struct BodyLimitTests {
    @Test func oversizedBodiesGet413() async throws {
        try await makeApp(bodyLimit: 1024).test(.router) { client in
            let big = #"{"user": {"name": ""# + String(repeating: "x", count: 4096) + #""}}"#
            let response = try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: big))
            #expect(response.status == .contentTooLarge)
            #expect(body(response) == #"{"error":"too large"}"#)
        }
    }

    @Test func bodiesWithinTheLimitPass() async throws {
        try await makeApp(bodyLimit: 1024).test(.router) { client in
            let response = try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: #"{"user": {"name": "jake"}}"#))
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == "jake")
        }
    }

    @Test func oversizedBodiesGet413OverARealSocket() async throws {
        try await makeApp(bodyLimit: 1024).test(.live) { client in
            let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1_000_000)
            let response = try await client.execute(uri: "/echo", method: .post, body: big)
            #expect(response.status == .contentTooLarge)
        }
    }
}

@Suite struct RequestIDTests {
    @Test func honoursAWellFormedID() async throws {
        try await makeApp().test(.router) { client in
            let response = try await client.execute(uri: "/forbidden", method: .get, headers: [RequestIDMiddleware<BasicRequestContext>.headerName: "abc-123"])
            #expect(response.headers[RequestIDMiddleware<BasicRequestContext>.headerName] == "abc-123")
        }
    }

    @Test func replacesAHostileID() async throws {
        try await makeApp().test(.router) { client in
            let hostile = "x\r\nforged: yes " + String(repeating: "y", count: 300)
            let response = try await client.execute(uri: "/forbidden", method: .get, headers: [RequestIDMiddleware<BasicRequestContext>.headerName: "bad id with spaces"])
            let id = response.headers[RequestIDMiddleware<BasicRequestContext>.headerName]
            #expect(id != nil && id != "bad id with spaces" && id != hostile)
        }
    }

    @Test func generatesOneWhenAbsent() async throws {
        try await makeApp().test(.router) { client in
            let first = try await client.execute(uri: "/forbidden", method: .get).headers[RequestIDMiddleware<BasicRequestContext>.headerName]
            let second = try await client.execute(uri: "/forbidden", method: .get).headers[RequestIDMiddleware<BasicRequestContext>.headerName]
            #expect(first != nil && second != nil && first != second)
        }
    }
}
