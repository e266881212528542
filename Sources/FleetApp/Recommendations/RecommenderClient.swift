import AsyncHTTPClient
import FleetData
import FleetResilience
import FleetSupport
import Foundation
import Logging
import NIOCore
import Tracing
public import ServiceLifecycle
import Synchronization

/// The API's side of the recommender role: `GET /recommendations?user=&limit=` over HTTP,
/// guarded so that a recommender that is slow, failing or gone costs a reader at most
/// `recommender.timeout.ms` and, once that is clear, nothing at all:
///
/// - a **circuit breaker** (`recommender`): once half of the recent calls failed it refuses
///   calls at once for `recommender.breaker.open.ms`, then lets three trial calls through;
/// - a **deadline** inside it (`withDeadline`, which cancels the request): the wait for a
///   permit and the call together; a call cut off counts as a failure;
/// - a **bulkhead** inside that: at most `recommender.max.concurrent` calls in flight
///   per instance and as many waiting, so a stalled recommender cannot hold every
///   request of the API; past that, refused at once (not the recommender's fault: not
///   counted by the breaker).
///
/// Connections are not retried: a refused connection is an answer (the recommender is
/// gone), and the caller falls back at once instead of waiting out its deadline.
///
/// A `Service`: the HTTP client exists while it runs, and is shut down on graceful
/// shutdown (AsyncHTTPClient requires it). A call while it is not running fails as an
/// error.
public final class RecommenderClient: Service, Sendable {
    let base: String
    let timeout: Duration
    let breaker: CircuitBreaker
    let bulkhead: Bulkhead
    private let configuration: HTTPClient.Configuration
    private let client = Mutex<HTTPClient?>(nil)
    private let logger: Logger

    /// `breakers`: the registry to make the breaker in (readiness lists it, operators force
    /// it by name); nil for one of its own.
    init(_ settings: RecommenderSettings, url: String, breakers: CircuitBreakers?, logger: Logger) {
        base = url.hasSuffix("/") ? String(url.dropLast()) : url
        timeout = settings.timeout
        let policy = CircuitBreakerPolicy(
            window: .time(seconds: 10), minimumCalls: settings.breakerMinimumCalls, failureRateThreshold: 0.5,
            slowCallDuration: settings.timeout, openDuration: settings.breakerOpen
        )
        breaker = breakers?.breaker("recommender", policy: policy) ?? CircuitBreaker(name: "recommender", policy: policy, logger: logger)
        bulkhead = Bulkhead(name: "recommender", maxConcurrent: settings.maxConcurrent, maxWaiting: settings.maxConcurrent)
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .nanoseconds((settings.timeout + .seconds(1)).inNanoseconds)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: settings.maxConcurrent)
        configuration.connectionPool.retryConnectionEstablishment = false
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration, backgroundActivityLogger: logger)
        client.withLock { $0 = http }
        try? await gracefulShutdown()
        client.withLock { $0 = nil }
        try await http.shutdown()
    }

    /// Article ids the recommender has for `user`, best first. Throws `RecommenderError`
    /// (timeout, bad answer, not running), `CircuitBreakerError` (open), `BulkheadError`
    /// (full), or the HTTP client's error (connection refused, reset).
    func recommend(for user: FleetID, limit: Int) async throws -> [Int64] {
        guard let http = client.withLock({ $0 }) else { throw RecommenderError(code: .notRunning) }
        let timeout = timeout
        let bulkhead = bulkhead
        let url = "\(base)/recommendations?user=\(user.rawValue)&limit=\(limit)"
        // A span for the call, breaker and bulkhead included; async-http-client's own
        // client span under it sends `traceparent`, so the recommender's server span joins
        // the caller's trace.
        return try await withSpan("GET /recommendations", ofKind: .client) { span in
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            if span.isRecording {
                span.updateAttributes { attributes in
                    attributes["http.request.method"] = "GET"
                    attributes["url.full"] = url
                }
            }
            return try await call(request, on: http, timeout: timeout, bulkhead: bulkhead)
        }
    }

    private func call(_ request: HTTPClientRequest, on http: HTTPClient, timeout: Duration, bulkhead: Bulkhead) async throws -> [Int64] {
        try await breaker.run(classify: Self.classify) {
            try await withDeadline(timeout, orThrow: { RecommenderError(code: .timeout) }) {
                try await bulkhead.run {
                    // The deadline above cancels the request; the client's own is a backstop
                    // (were it first, a timeout would read as an error).
                    let response = try await http.execute(request, timeout: .nanoseconds((timeout + .seconds(1)).inNanoseconds))
                    let body = try await response.body.collect(upTo: 1 << 20)
                    guard response.status == .ok else { throw RecommenderError(code: .status(Int(response.status.code))) }
                    guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView)) else {
                        throw RecommenderError(code: .badAnswer)
                    }
                    return answer.articles.compactMap { Int64($0) }
                }
            }
        }
    }

    /// What counts against the recommender: its failures, not ours (a full bulkhead, a
    /// call made while stopping) nor a request it found bad (4xx).
    static func classify(_ error: any Error) -> CircuitBreakerState.Outcome {
        switch error {
        case is BulkheadError: .ignored
        case let error as RecommenderError:
            switch error.code {
            case .notRunning: .ignored
            case .status(let status) where status < 500: .ignored
            default: .failure
            }
        default: .failure
        }
    }

    /// The recommender's answer: `{"articles": ["<id>", ...], "computed": "co-favorites"}`.
    private struct Answer: Decodable {
        var articles: [String]
    }
}

/// Why the recommender gave no recommendations (besides the breaker, the bulkhead and the
/// connection's own errors).
struct RecommenderError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        /// No answer within `recommender.timeout.ms`.
        case timeout
        /// An answer other than 200.
        case status(Int)
        /// A 200 whose body is not a list of ids.
        case badAnswer
        /// The client is not running (starting or stopping).
        case notRunning
    }

    let code: Code

    var description: String {
        switch code {
        case .timeout: "the recommender did not answer in time"
        case .status(let status): "the recommender answered \(status)"
        case .badAnswer: "the recommender's answer is not a list of article ids"
        case .notRunning: "the recommender client is not running"
        }
    }
}

