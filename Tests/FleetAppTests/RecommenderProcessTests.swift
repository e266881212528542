import FleetTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The recommender as its own role, on PostgreSQL: a real `fleet serve` asks a real
/// `fleet recommender` (which also runs the `recommendations` queue, so its model follows
/// the favorites made through the API), and keeps answering when the recommender is
/// frozen (SIGSTOP), killed (SIGKILL) or answering 500 (a failpoint): every answer a 200
/// in bounded time, popular articles with the reason, the breaker opening and, once the
/// recommender is back, closing; `/metrics` counts every answer by source and reason.
@Suite(.enabled(if: TestPostgres.adminURL != nil, "needs PostgreSQL"))
struct RecommenderProcessTests {
    /// One answer of `GET /api/articles/recommended`.
    struct Answer {
        var status: HTTPResponse.Status
        var source: String
        var slugs: [String]
        var elapsed: Duration
    }

    /// The API's timeout for the recommender (the default), and what a busy two-core
    /// machine may add to it.
    static let timeout = Duration.milliseconds(300)
    static let margin = Duration.milliseconds(3000)
    /// How long the breaker stays open: long enough for a few answers on a busy machine.
    static let openMilliseconds = 8000

    @Test func recommendationsSurviveARecommenderFrozenKilledOrFailing() async throws {
        let postgres = try await onOwnThread { try PostgresServerProcess() }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-recommender-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let common = ["--database-url", postgres.url, "--auth-jwt-secret", String(repeating: "k", count: 32), "--jobs-poll-ms", "200"]
        var started: [FleetServer] = []
        defer { for server in started { server.stop() } }
        func start(_ role: String, _ name: String, _ extra: [String], environment: [String: String] = [:], port: Int? = nil) async throws -> FleetServer {
            let server = try await FleetServer.start(
                role, dataDirectory: data.appendingPathComponent(name), bcryptCost: 4, settings: common + extra, environment: environment, port: port
            )
            started.append(server)
            return server
        }

        // The recommender first (the API is given its address), working its queue; the API
        // works the other queues, with a short breaker.
        let recommender = try await start("recommender", "recommender", ["--queues", "recommendations"])
        // (The queues in the environment: a comma-separated flag is read as a list, which
        // the setting does not take.)
        let api = try await start(
            "serve", "api",
            [
                "--ratelimit-enabled", "false",
                "--recommender-url", "http://127.0.0.1:\(recommender.port)",
                "--recommender-timeout-ms", "\(Self.timeout.components.seconds * 1000 + Self.timeout.components.attoseconds / 1_000_000_000_000_000)",
                "--recommender-breaker-open-ms", "\(Self.openMilliseconds)", "--recommender-breaker-min-calls", "4",
            ],
            environment: ["FLEET_JOBS_WORKERS": "edges,mail,timelines,cache"]
        )

        // Co-favorites: both fans favorited Loved; one of them also Liked, the other Liked
        // and Niche. The reader, who favorited Loved, is recommended Liked first.
        let author = try await api.signUp("author")
        var slugs: [String: String] = [:]
        for title in ["Loved", "Liked", "Niche"] { slugs[title] = try await Self.createArticle(api, author, title) }
        let reader = try await api.signUp("reader")
        let fan1 = try await api.signUp("fan1")
        let fan2 = try await api.signUp("fan2")
        for (token, title) in [(fan1, "Loved"), (fan1, "Liked"), (fan2, "Loved"), (fan2, "Liked"), (fan2, "Niche"), (reader, "Loved")] {
            let response = try await FleetServer.request(port: api.port, "/api/articles/\(slugs[title] ?? "")/favorite", json: "", token: token)
            #expect(response.head.status == .ok)
        }

        // What the API answered, by header: `/metrics` must count the same.
        var tally: [String: Int] = [:]
        func recommend(_ token: String?) async throws -> Answer {
            let started = ContinuousClock.now
            let response = try await FleetServer.request(port: api.port, "/api/articles/recommended", token: token)
            let elapsed = ContinuousClock.now - started
            let source = response.head.headerFields[HTTPField.Name("X-Fleet-Recommendations")!] ?? ""
            tally[source, default: 0] += 1
            let json = try? JSONSerialization.jsonObject(with: Data((response.body ?? ByteBuffer()).readableBytesView)) as? [String: Any]
            let slugs = ((json?["articles"] as? [[String: Any]]) ?? []).compactMap { $0["slug"] as? String }
            return Answer(status: response.head.status, source: source, slugs: slugs, elapsed: elapsed)
        }
        /// Asks until `done` holds (at most `limit`); returns the answers.
        func recommendUntil(within limit: Duration = .seconds(20), _ done: (Answer) -> Bool) async throws -> [Answer] {
            let deadline = ContinuousClock.now + limit
            var answers: [Answer] = []
            repeat {
                let answer = try await recommend(reader)
                answers.append(answer)
                if done(answer) { break }
                try await Task.sleep(for: .milliseconds(100))
            } while ContinuousClock.now < deadline
            return answers
        }
        func breaker(_ state: String) async throws -> Bool {
            try await Self.gauge(api, #"fleet_breaker_state{name="recommender",state="\#(state)"}"#) == 1
        }

        // Personal, once the recommender's worker has run the favorites' jobs.
        let expected = ["Liked", "Niche"].compactMap { slugs[$0] }
        let personal = try await recommendUntil { $0.source == "personal" && $0.slugs == expected }
        #expect(personal.last?.source == "personal" && personal.last?.slugs == expected, "\(personal.map(\.source))")
        #expect(try await breaker("closed"))
        var ran = false
        for _ in 0..<50 where !ran {
            let metrics = String(buffer: try await FleetServer.request(port: recommender.port, "/metrics").body ?? ByteBuffer())
            ran = metrics.contains(#"fleet_job_name="recommend.favorite",fleet_job_outcome="completed"} 6"#)
            if !ran { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ran, "the recommender ran every favorite's job")

        // Anonymous readers get popular articles: the most favorited first.
        let anonymous = try await recommend(nil)
        #expect(anonymous.status == .ok && anonymous.source == "popular; reason=anonymous")
        #expect(anonymous.slugs == ["Loved", "Liked", "Niche"].compactMap { slugs[$0] })

        // (a) Frozen: every answer popular within the timeout and a margin; after enough
        // timeouts the breaker opens, and answers come at once.
        recommender.signal(SIGSTOP)
        let frozen = try await recommendUntil(within: .seconds(15)) { $0.source == "popular; reason=breaker-open" }
        #expect(frozen.allSatisfy { $0.status == .ok && $0.source.hasPrefix("popular") && $0.elapsed < Self.timeout + Self.margin })
        // Until the breaker opens, each call waits out the timeout (how many it takes depends
        // on the successes still in its window).
        let timeouts = Array(frozen.dropLast())
        #expect(!timeouts.isEmpty && timeouts.allSatisfy { $0.source == "popular; reason=timeout" }, "\(frozen.map(\.source))")
        #expect(timeouts.allSatisfy { $0.elapsed >= Self.timeout }, "a timeout takes the timeout")
        #expect(frozen.last?.source == "popular; reason=breaker-open")
        #expect(try await breaker("open"))
        #expect(try await FleetServer.get(port: api.port, "/health/ready") == .ok, "the API stays ready")
        // While it is open no call is made, and answers stay within the bound.
        var refused: [Answer] = []
        for _ in 0..<3 { refused.append(try await recommend(reader)) }
        #expect(refused.allSatisfy { $0.status == .ok && $0.source == "popular; reason=breaker-open" }, "\(refused.map { ($0.source, $0.elapsed) })")
        #expect(refused.allSatisfy { $0.elapsed < Self.timeout + Self.margin }, "\(refused.map(\.elapsed))")
        // (No call is made while it is open: the reason says so. How its answers compare
        // in time with the timed-out ones depends on the machine's load, so not asserted.)
        #expect(refused.allSatisfy { $0.slugs.first == slugs["Loved"] })
        // Resumed: after the open duration, trial calls succeed and the breaker closes.
        recommender.signal(SIGCONT)
        let resumed = try await recommendUntil(within: .seconds(15)) { $0.source == "personal" }
        #expect(resumed.last?.source == "personal", "\(resumed.map(\.source))")
        for _ in 0..<3 { _ = try await recommend(reader) }
        #expect(try await breaker("closed"))

        // (b) Killed: refused connections fall back at once, and open the breaker again.
        recommender.signal(SIGKILL)
        _ = try await recommender.waitForExit(timeout: .seconds(10))
        var killed: [Answer] = []
        for _ in 0..<8 { killed.append(try await recommend(reader)) }
        #expect(killed.allSatisfy { $0.status == .ok && ["popular; reason=error", "popular; reason=breaker-open"].contains($0.source) })
        // A refused connection is an answer, not waited out (an error, not a timeout).
        #expect(killed.allSatisfy { $0.elapsed < Self.timeout + Self.margin }, "\(killed.map(\.elapsed))")
        #expect(killed.contains { $0.source == "popular; reason=error" } && killed.contains { $0.source == "popular; reason=breaker-open" })

        // (c) Answering 500 on the same address: once the breaker lets a trial through, the
        // reader gets popular articles for an error.
        let failing = try await start("recommender", "failing", [], environment: ["FLEET_FAILPOINTS": "recommender.error"], port: recommender.port)
        try await Task.sleep(for: .milliseconds(Self.openMilliseconds))
        let failed = try await recommendUntil(within: .seconds(10)) { $0.source == "popular; reason=error" }
        #expect(failed.allSatisfy { $0.status == .ok && $0.source.hasPrefix("popular") && $0.elapsed < Self.timeout + Self.margin })
        #expect(failed.last?.source == "popular; reason=error")
        #expect(((try? String(contentsOf: failing.log, encoding: .utf8)) ?? "").contains("request failed"), "the recommender answered 500")

        // (d) The API's metrics count every answer by source and reason.
        for (header, count) in tally {
            let (source, reason) = header == "personal" ? ("personal", "none") : ("popular", String(header.dropFirst("popular; reason=".count)))
            let counted = try await Self.gauge(api, #"fleet_recommendations{source="\#(source)",reason="\#(reason)"}"#)
            #expect(counted == Double(count), "\(header): counted \(String(describing: counted)), answered \(count)")
        }
        #expect(tally["popular; reason=timeout", default: 0] >= 2 && tally["popular; reason=error", default: 0] >= 2)

        // Measured, for the record.
        func report(_ name: String, _ answers: [Answer]) -> String {
            let ms = answers.map { Double($0.elapsed.components.seconds) * 1000 + Double($0.elapsed.components.attoseconds) / 1e15 }
            return "\(name): \(answers.count) answers, \(Int(ms.min() ?? 0))-\(Int(ms.max() ?? 0)) ms"
        }
        print(
            "recommender fallbacks:",
            [
                report("personal", personal.suffix(1)), report("timeout", timeouts), report("breaker-open", refused),
                report("refused connection", killed.filter { $0.source == "popular; reason=error" }),
                report("breaker-open after kill", killed.filter { $0.source == "popular; reason=breaker-open" }),
                report("500", failed.filter { $0.source == "popular; reason=error" }),
            ].joined(separator: "; ")
        )
    }

    static func createArticle(_ api: FleetServer, _ token: String, _ title: String) async throws -> String {
        let response = try await FleetServer.request(
            port: api.port, "/api/articles", json: #"{"article":{"title":"\#(title)","description":"d","body":"b","tagList":[]}}"#, token: token
        )
        let json = try JSONSerialization.jsonObject(with: Data((response.body ?? ByteBuffer()).readableBytesView)) as? [String: Any]
        return try #require((json?["article"] as? [String: Any])?["slug"] as? String)
    }

    /// The value of one series in the API's `/metrics`, nil when absent.
    static func gauge(_ api: FleetServer, _ series: String) async throws -> Double? {
        let text = try await api.metrics()
        let line = text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
        return line.flatMap { Double($0.dropFirst(series.count + 1)) }
    }
}
