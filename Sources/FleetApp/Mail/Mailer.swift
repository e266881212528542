import FleetMail
import FleetResilience
import Logging

/// Conduit's outgoing mail: the SMTP server of `mail.smtp.url` and the messages Conduit
/// sends through it.
public struct Mailer: Sendable {
    let client: SMTPClient
    let from: String
    /// While the SMTP server keeps failing, sends fail at once and their jobs retry later,
    /// instead of each waiting out a connect or session timeout.
    let breaker: CircuitBreaker

    /// Sends `message` through the breaker: a permanent refusal (5xx) is the server
    /// answering; a refused connection, a timeout or a 4xx count against it.
    func send(_ message: MailMessage) async throws {
        try await breaker.run(classify: { ($0 as? SMTPError)?.code == .permanent ? .success : .failure }) {
            try await client.send(message)
        }
    }

    /// The mailer the settings describe, or nil (said once, at start) when mail is off.
    static func make(_ settings: FleetSettings, breakers: CircuitBreakers?, logger: Logger) throws -> Mailer? {
        guard let url = settings.mailSMTPURL else {
            logger.notice("mail is off (mail.smtp.url is unset): no welcome e-mail is sent or queued")
            return nil
        }
        var configuration = try SMTPConfiguration(url: url)
        configuration.timeout = settings.mailTimeout
        let policy = CircuitBreakerPolicy(window: .count(10), minimumCalls: 5, openDuration: .seconds(30))
        let breaker = breakers?.breaker("smtp", policy: policy) ?? CircuitBreaker(name: "smtp", policy: policy, logger: logger)
        return Mailer(client: SMTPClient(configuration), from: settings.mailFrom, breaker: breaker)
    }

    /// The welcome e-mail of a new user. Its Message-ID names the user, so every resend of
    /// it (jobs run at least once) is the same message to the receiver.
    func welcome(_ user: UserRecord) -> MailMessage {
        MailMessage(
            from: from, to: user.email, subject: "Welcome to Conduit, \(user.username)",
            body: """
                Hello \(user.username),

                welcome to Conduit. Your account is ready: follow authors you like, and your feed \
                will show what they write.

                See you there!
                """,
            messageID: "welcome.\(user.id.rawValue)@\(from.split(separator: "@").last.map(String.init) ?? "fleet.localhost")"
        )
    }
}

/// The payload of `mail.welcome`: whom to welcome (the address is read when sending).
struct WelcomeMail: Codable, Sendable {
    var user: Int64
}
