import Configuration
@testable import FleetApp
import FleetData
import FleetObservability
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

/// A complete Conduit app over a fresh SQLite file, as `fleet serve` builds it, with a
/// low bcrypt cost so tests stay fast.
struct TestConduit {
    let directory: URL
    let settings: FleetSettings
    let database: InstrumentedDatabase<SQLiteDatabase>
    let services: ConduitServices
    let metrics: PrometheusCollectorRegistry
    let app: Application<RouterResponder<ConduitContext>>

    static func make(_ overrides: [AbsoluteConfigKey: ConfigValue] = [:]) async throws -> TestConduit {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-app-\(UUID().uuidString)")
        var values: [AbsoluteConfigKey: ConfigValue] = [
            "data.dir": .init(.string(directory.path), isSecret: false),
            "auth.bcrypt.cost": .init(.int(4), isSecret: false),
            "log.level": .init(.string("error"), isSecret: false),
        ]
        values.merge(overrides) { $1 }
        let settings = try FleetSettings(config: ConfigReader(provider: InMemoryProvider(values: values)))
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let database = try await ConduitApplication.openDatabase(settings, logger: logger)
        let services = try await ConduitApplication.services(settings, database: database, logger: logger)
        let metrics = PrometheusCollectorRegistry()
        let health = HealthChecks()
        ConduitApplication.registerHealthChecks(health, database: database)
        let router = ConduitApplication.router(services: services, settings: settings, health: health, metrics: metrics)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return TestConduit(directory: directory, settings: settings, database: database, services: services, metrics: metrics, app: app)
    }

    /// Runs `body` against the app in-process (or over a socket with `.live`), then cleans up.
    func test<T>(_ setup: TestingSetup = .router, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let result = try await app.test(setup) { client in try await body(client) }
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }
}

/// A response body parsed as JSON.
struct JSON: @unchecked Sendable {
    let value: Any?

    init(_ response: TestResponse) {
        value = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView), options: [.fragmentsAllowed])
    }

    init(value: Any?) { self.value = value }

    subscript(key: String) -> JSON { JSON(value: (value as? [String: Any])?[key]) }
    subscript(index: Int) -> JSON {
        guard let array = value as? [Any], array.indices.contains(index) else { return JSON(value: nil) }
        return JSON(value: array[index])
    }
    var string: String? { value as? String }
    var int: Int? { value as? Int }
    var bool: Bool? { value as? Bool }
    var array: [JSON] { (value as? [Any])?.map { JSON(value: $0) } ?? [] }
    var isNull: Bool { value is NSNull }
    var exists: Bool { value != nil }
}

extension TestClientProtocol {
    /// Sends a JSON request, optionally authenticated.
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json body: String? = nil, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Token \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    /// Registers a user and returns its token.
    func register(_ name: String) async throws -> String {
        let response = try await send(.post, "/api/users", json: #"{"user":{"username":"\#(name)","email":"\#(name)@example.com","password":"password123"}}"#)
        #expect(response.status == .created)
        return try #require(JSON(response)["user"]["token"].string)
    }

    /// Creates an article and returns its slug.
    func createArticle(_ token: String, title: String = "A title", tags: [String] = ["swift"]) async throws -> String {
        let tagList = tags.map { "\"\($0)\"" }.joined(separator: ",")
        let response = try await send(.post, "/api/articles", token: token, json: #"{"article":{"title":"\#(title)","description":"d","body":"b","tagList":[\#(tagList)]}}"#)
        #expect(response.status == .created)
        return try #require(JSON(response)["article"]["slug"].string)
    }
}

/// The errors object of a Conduit error body.
func errors(_ response: TestResponse) -> [String: [String]] {
    (JSON(response)["errors"].value as? [String: [String]]) ?? [:]
}
