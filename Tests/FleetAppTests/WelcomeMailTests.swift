import Configuration
@testable import FleetApp
import FleetData
import FleetJobs
import FleetTestSupport
import Foundation
import Testing

/// `user.created` → the welcome e-mail, through a real SMTP server.
@Suite(.enabled(if: SMTPServerProcess.enabled, "needs aiosmtpd (FLEET_TEST_PYTHON)")) struct WelcomeMailTests {
    /// Waits up to `seconds` for `condition`.
    func within(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    @Test func aNewUserIsWelcomedOnce() async throws {
        let server = try await SMTPServerProcess()
        try await TestConduit.make(["mail.smtp.url": .init(.string(server.url), isSecret: true)]).test(.router) { client, harness in
            _ = try await client.register("newcomer")
            #expect(try await within(20) { server.messages().count == 1 })
            let mail = try #require(server.messages().first)
            let id = try #require(try await harness.services.directory.user(.username, "newcomer"))
            #expect(mail.contains("X-Envelope-To: newcomer@example.com"))
            #expect(mail.contains("Message-ID: <welcome.\(id.rawValue)@fleet.localhost>"))
            #expect(mail.contains("Hello newcomer,"))
            // Nothing else runs it again.
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.messages().count == 1)
        }
    }

    /// Run twice (a lost lease) and late (after the user changed address): the same
    /// message, with the same Message-ID a receiver drops, to the address of the moment.
    @Test func theHandlerRunTwiceAndLateSendsTheSameMessage() async throws {
        let server = try await SMTPServerProcess()
        let conduit = try await TestConduit.make(["mail.smtp.url": .init(.string(server.url), isSecret: true), "jobs.workers": "none"])
        try await conduit.test(.router) { client, harness in
            let token = try await client.register("twice")
            let response = try await client.send(.put, "/api/user", token: token, json: #"{"user":{"email":"moved@example.com"}}"#)
            #expect(response.status == .ok)
            let user = try #require(try await harness.services.directory.user(.username, "twice"))
            let jobs = try await JobStore().claim(queue: "mail", limit: 10, lease: .seconds(30), now: .max / 2, in: harness.database.node(for: user))
            #expect(jobs.count == 1)
            let handlers = ConduitJobs.handlers(harness.services)
            for job in jobs + jobs { #expect(try await handlers.run(job) == .completed) }
            let mails = server.messages()
            #expect(mails.count == 2)
            let ids = Set(mails.compactMap { $0.split(separator: "\r\n").first { $0.hasPrefix("Message-ID:") } })
            #expect(ids.count == 1)
            #expect(mails.allSatisfy { $0.contains("X-Envelope-To: moved@example.com") })
        }
    }

    /// A mail server that is down never affects sign-up: the mail waits, retried, and goes
    /// out once the server is back.
    @Test func aMailServerThatIsDownDelaysMailButNotSignUp() async throws {
        let server = try await SMTPServerProcess()
        server.stop()
        // A sign-up that waited for the mail would take the whole SMTP timeout (30 s here);
        // the bound sits well below it and well above a sign-up on a busy CI machine (one
        // took 5.1 s while the PostgreSQL suite ran in parallel).
        try await TestConduit.make([
            "mail.smtp.url": .init(.string(server.url), isSecret: true), "mail.timeout.ms": .init(.int(30_000), isSecret: false),
        ]).test(.router) { client, harness in
            let started = ContinuousClock.now
            _ = try await client.register("patient")
            #expect(ContinuousClock.now - started < .seconds(15))
            let user = try #require(try await harness.services.directory.user(.username, "patient"))
            let node = harness.database.node(for: user)
            // The first attempt fails and is recorded.
            #expect(try await within(20) {
                try await node.read { try await $0.first("SELECT 1 FROM jobs WHERE queue = 'mail' AND last_error IS NOT NULL") } != nil
            })
            try await server.start()
            #expect(try await within(40) { server.messages().count == 1 })
        }
    }

    /// A server that keeps failing opens the `smtp` breaker: the next mail jobs are snoozed
    /// without trying it and without spending an attempt, and readiness shows the breaker.
    @Test func aMailServerThatKeepsFailingIsLeftAloneWhileItsBreakerIsOpen() async throws {
        let server = try await SMTPServerProcess()
        server.stop()
        let conduit = try await TestConduit.make(["mail.smtp.url": .init(.string(server.url), isSecret: true), "jobs.workers": "none"])
        try await conduit.test(.router) { client, harness in
            for index in 0..<6 { _ = try await client.register("unlucky\(index)") }
            var jobs: [ClaimedJob] = []
            for node in harness.database.nodes {
                jobs += try await JobStore().claim(queue: "mail", limit: 10, lease: .seconds(30), now: .max / 2, in: node)
            }
            #expect(jobs.count == 6)
            let handlers = ConduitJobs.handlers(harness.services)
            // Five sends fail against the stopped server: the breaker's minimum.
            for job in jobs.prefix(5) {
                await #expect(throws: (any Error).self) { try await handlers.run(job) }
            }
            // The sixth does not try: it waits for the breaker's trial send.
            #expect(try await handlers.run(jobs[5]) == .snooze(Mailer.breakerOpen))
            let ready = try await client.send(.get, "/health/ready")
            #expect(JSON(ready)["details"]["breakers"]["smtp"].string == "open")
        }
    }

    @Test func withoutSMTPNothingIsQueued() async throws {
        try await TestConduit.make().test(.router) { client, harness in
            _ = try await client.register("quiet")
            var queued = 0
            for node in harness.database.nodes {
                queued += try await node.read { try await $0.first("SELECT COUNT(*) FROM jobs WHERE queue = 'mail'")?.decode(at: 0, as: Int.self) } ?? 0
            }
            #expect(queued == 0)
        }
    }
}
