import FleetHTTP
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A small app exercising each middleware on its own, with no domain behind it.
func makeApp(bodyLimit: Int = 1024) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: ErrorMiddleware())
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
    router.get("forbidden") { _, _ -> String in throw APIError(.forbidden, field: "article", "forbidden") }
    return Application(router: router)
}

func json(_ response: TestResponse) throws -> [String: [String: [String]]] {
    try JSONDecoder().decode([String: [String: [String]]].self, from: Data(response.body.readableBytesView))
}

@Suite struct ErrorMiddlewareTests {
    @Test func apiErrorsKeepTheirStatusAndShape() async throws {
        try await makeApp().test(.router) { client in
            let response = try await client.execute(uri: "/forbidden", method: .get)
            #expect(response.status == .forbidden)
            #expect(try json(response) == ["errors": ["article": ["forbidden"]]])
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
        }
    }

    @Test func unexpectedErrorsBecomeAGeneric500WithoutDetails() async throws {
        try await makeApp().test(.router) { client in
            let response = try await client.execute(uri: "/fail", method: .get)
            #expect(response.status == .internalServerError)
            #expect(try json(response) == ["errors": ["server": ["internal error"]]])
            #expect(!String(buffer: response.body).contains("hunter2"))
        }
    }

    @Test func unknownRoutesGetTheShapeToo() async throws {
        try await makeApp().test(.router) { client in
            let response = try await client.execute(uri: "/nowhere", method: .get)
            #expect(response.status == .notFound)
            #expect(try json(response)["errors"] != nil)
        }
    }

    @Test(arguments: [
        (#"{"user": {"name": 5}}"#, "name", "must be a string"),
        (#"{"user": {"name": "x", "age": "old"}}"#, "age", "must be an integer"),
        (#"{"user": {}}"#, "name", "can't be blank"),
        (#"{"nobody": {}}"#, "user", "can't be blank"),
        (#"{"user": {"name": null}}"#, "name", "must be a string"),
    ])
    func decodingErrorsNameTheField(body: String, field: String, message: String) async throws {
        try await makeApp().test(.router) { client in
            let response = try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: body))
            #expect(response.status == .unprocessableContent)
            #expect(try json(response) == ["errors": [field: [message]]])
        }
    }

    @Test(arguments: [#"{"user": {"name": "x""#, "not json at all", "[1, 2", "\u{0}\u{1}"])
    func malformedJSONIsABadRequest(body: String) async throws {
        try await makeApp().test(.router) { client in
            let response = try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: body))
            #expect(response.status == .unprocessableContent || response.status == .badRequest)
            #expect(try json(response)["errors"]?["body"] != nil)
        }
    }
}

@Suite struct BodyLimitTests {
    @Test func oversizedBodiesGet413() async throws {
        try await makeApp(bodyLimit: 1024).test(.router) { client in
            let big = #"{"user": {"name": ""# + String(repeating: "x", count: 4096) + #""}}"#
            let response = try await client.execute(uri: "/echo", method: .post, body: ByteBuffer(string: big))
            #expect(response.status == .contentTooLarge)
            #expect(try json(response)["errors"]?["body"]?.first?.contains("too large") == true)
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
