import FleetTestSupport
import Foundation
import HTTPTypes
import Testing

/// A PostgreSQL server that stops answering without closing its connections (hung,
/// frozen, cut off by the network without a reset), under the real binary on a lone
/// server (topology T1): writes are refused with 503 within seconds, found by the node's
/// probes, not when each statement's own timeout (here 30 s) runs out; and they succeed
/// again once the server answers.
@Suite(.enabled(if: TestPostgres.adminURL != nil, "needs PostgreSQL"))
struct PostgresHangTests {
    @Test func writesToAHungServerFailFastAndResumeWhenItAnswers() async throws {
        let postgres = try await onOwnThread { try PostgresServerProcess() }
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-hang-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let api = try await FleetServer.start(
            dataDirectory: data.appendingPathComponent("api"), bcryptCost: 4,
            settings: ["--database-url", postgres.url, "--database-statement-timeout-ms", "30000", "--ratelimit-enabled", "false"]
        )
        defer { api.stop() }
        let token = try await api.signUp("hung")
        var articles = 0
        /// Posts an article; its status and how long the answer took.
        func post() async throws -> (HTTPResponse.Status, Duration) {
            articles += 1
            let started = ContinuousClock.now
            let response = try await FleetServer.request(
                port: api.port, "/api/articles", json: #"{"article":{"title":"Hung \#(articles)","description":"d","body":"b"}}"#, token: token
            )
            return (response.head.status, ContinuousClock.now - started)
        }
        #expect(try await post().0 == .created)

        try await onOwnThread { try postgres.freeze() }
        // The write sent first waits on the hung server until its probes find it (about two
        // probe timeouts, 1 s each); the bound leaves room for a busy machine and is far
        // below the statement timeout.
        let (status, took) = try await post()
        #expect(status == .serviceUnavailable)
        #expect(took < .seconds(10), "the write waited \(took)")
        // Later writes are refused at once while the server stays hung.
        let (later, laterTook) = try await post()
        #expect(later == .serviceUnavailable)
        #expect(laterTook < .seconds(3), "the second write waited \(laterTook)")

        try await onOwnThread { try postgres.thaw() }
        var resumed = false
        let deadline = ContinuousClock.now + .seconds(20)
        while !resumed, ContinuousClock.now < deadline {
            resumed = try await post().0 == .created
            if !resumed { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(resumed, "writes did not resume within 20 s of the server answering again")
    }
}
