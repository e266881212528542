import FleetMail
import FleetTestSupport
import Foundation
import Testing

/// Against a real SMTP server (aiosmtpd, started per test).
@Suite(.enabled(if: SMTPServerProcess.enabled)) struct SMTPClientTests {
    func message(_ body: String = "Hello,\n.a line that starts with a dot\n..and two\nbye", to: String = "jake@example.com") -> MailMessage {
        MailMessage(from: "no-reply@fleet.test", to: to, subject: "Welcome, Jaké", body: body, messageID: "welcome.42@fleet.test")
    }

    @Test func aMessageArrivesWithItsHeadersAndItsDotsIntact() async throws {
        let server = try await SMTPServerProcess()
        try await SMTPClient(try SMTPConfiguration(url: server.url)).send(message())
        let received = try #require(server.messages().first)
        #expect(received.contains("X-Envelope-To: jake@example.com"))
        #expect(received.contains("Message-ID: <welcome.42@fleet.test>"))
        #expect(received.contains("Subject: =?UTF-8?B?\(Data("Welcome, Jaké".utf8).base64EncodedString())?="))
        // Dot-stuffed on the wire, unstuffed by the server: the text as written.
        #expect(received.contains("\r\n.a line that starts with a dot\r\n..and two\r\nbye"))
    }

    @Test func authPlainIsUsedAndAWrongPasswordIsRefused() async throws {
        let server = try await SMTPServerProcess(user: "fleet", password: "s3cret")
        try await SMTPClient(try SMTPConfiguration(url: "smtp://fleet:s3cret@127.0.0.1:\(server.port)")).send(message())
        #expect(server.messages().count == 1)
        let error = await #expect(throws: SMTPError.self) {
            try await SMTPClient(try SMTPConfiguration(url: "smtp://fleet:wrong@127.0.0.1:\(server.port)")).send(message())
        }
        #expect(error?.code == .permanent)
        // Without credentials the server refuses the mail itself.
        await #expect(throws: SMTPError.self) { try await SMTPClient(try SMTPConfiguration(url: server.url)).send(message()) }
        #expect(server.messages().count == 1)
    }

    @Test func aServerThatIsDownOrFrozenFailsWithinTheTimeout() async throws {
        let server = try await SMTPServerProcess()
        var configuration = try SMTPConfiguration(url: server.url)
        configuration.timeout = .milliseconds(500)
        server.pause()
        let started = ContinuousClock.now
        let frozen = await #expect(throws: SMTPError.self) { try await SMTPClient(configuration).send(message()) }
        #expect(frozen?.code == .timeout)
        // Not waiting for the frozen server (which would be forever); room for a busy machine.
        #expect(ContinuousClock.now - started < .seconds(8))
        server.resume()
        server.stop()
        let down = await #expect(throws: SMTPError.self) { try await SMTPClient(configuration).send(message()) }
        #expect(down?.code == .connect)
    }

    @Test func headerInjectionAndBadAddressesAreRefusedBeforeConnecting() async throws {
        let nowhere = SMTPConfiguration(host: "127.0.0.1", port: 9)
        var injected = message()
        injected.subject = "Hi\r\nBcc: everyone@example.com"
        let error = await #expect(throws: SMTPError.self) { try await SMTPClient(nowhere).send(injected) }
        #expect(error?.code == .invalid)
        let address = await #expect(throws: SMTPError.self) { try await SMTPClient(nowhere).send(message(to: "a>b@example.com")) }
        #expect(address?.code == .invalid)
    }
}
