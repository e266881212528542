import AsyncHTTPClient
import FleetLoad
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The Conduit API as a browser uses it, over one pooled `HTTPClient`: JSON bodies, an
/// `Origin` header, `Authorization: Token <jwt>` when signed in. Requests go round-robin
/// over the target base URLs (several instances, or one load balancer).
final class LoadTestClient: Sendable {
    /// How a request ended: an answer with its status and body, or a transport failure of
    /// a named kind (`timeout`, `connect`, ...).
    enum Answer: Sendable {
        case answered(status: Int, body: Data)
        case failed(String)

        /// 2xx is success; anything else is an error named by its status or failure.
        var outcome: RequestOutcome {
            switch self {
            case .answered(let status, _) where (200..<300).contains(status): .success
            case .answered(let status, _): .status(status)
            case .failed(let kind): .failure(kind)
            }
        }

        /// The body decoded as `T` when the answer is a 2xx, else nil.
        func decode<T: Decodable>(_ type: T.Type) -> T? {
            guard case .answered(let status, let body) = self, (200..<300).contains(status) else { return nil }
            return try? JSONDecoder().decode(T.self, from: body)
        }

        var status: Int? {
            if case .answered(let status, _) = self { return status }
            return nil
        }

        var text: String {
            switch self {
            case .answered(let status, let body): "\(status) \(String(decoding: body.prefix(300), as: UTF8.self))"
            case .failed(let kind): kind
            }
        }
    }

    private let http: HTTPClient
    private let targets: [String]
    private let origin: String
    private let timeout: TimeAmount
    private let turn = Atomic<Int>(0)

    /// `poolSize` connections per target at most (HTTP/1.1 keeps one request per connection).
    init(targets: [String], origin: String, timeout: Duration, poolSize: Int) throws(LoadTestError) {
        guard !targets.isEmpty else { throw LoadTestError(.invalidOption, "--target needs at least one base URL") }
        for target in targets {
            guard let url = URL(string: target), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw LoadTestError(.invalidOption, "--target '\(target)' is not an http(s) URL")
            }
        }
        self.targets = targets.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.origin = origin
        self.timeout = .nanoseconds(timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, poolSize))
        configuration.timeout = .init(connect: .seconds(5))
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await http.shutdown()
    }

    /// Sends one request to the next target; `body` is encoded as JSON.
    /// - Parameter key: an `Idempotency-Key` for a create, so that a balancer may send it
    ///   again when the instance that had it died (as a careful client does).
    func send(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = nil as Never?, token: String? = nil, key: String? = nil) async -> Answer {
        let base = targets[turn.add(1, ordering: .relaxed).oldValue % targets.count]
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Origin", value: origin)
        request.headers.add(name: "Accept", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Token \(token)") }
        if let key { request.headers.add(name: "Idempotency-Key", value: key) }
        if let body {
            guard let data = try? JSONEncoder().encode(body) else { return .failed("encode") }
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        do {
            let response = try await http.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 8 << 20)
            return .answered(status: Int(response.status.code), body: Data(bytes.readableBytesView))
        } catch {
            return .failed(Self.kind(of: error))
        }
    }

    /// A transport failure's kind for the report.
    static func kind(of error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded: return "timeout"
            case .connectTimeout: return "connect timeout"
            case .remoteConnectionClosed: return "connection closed"
            default: return "http client"
            }
        }
        if error is NIOConnectionError || error is ChannelError { return "connect" }
        if let error = error as? IOError {
            // On Linux and macOS an IOError carries an errno.
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ECONNRESET, EPIPE: return "connection reset"
            default: return "io"
            }
        }
        return "transport"
    }
}
