import FleetMail
import FleetResilience
import Logging

/// Conduit's outgoing mail: the SMTP server of `mail.smtp.url` and the messages Conduit
/// sends through it, under a circuit breaker (`smtp`).
public struct Mailer: Sendable {
    let client: SMTPClient
    let from: String
    /// Opens when the server keeps failing (half of at least 5 sends in a minute, a send
    /// past `mail.timeout.ms` counting as failed); while it is open, mail jobs are snoozed
    /// by their handler instead of spending their attempts on a server that is down, and a
    /// trial send goes out after `breakerOpen`.
    let breaker: CircuitBreaker

    /// How long the breaker stays open before a trial send.
    static let breakerOpen: Duration = .seconds(30)

    /// The mailer the settings describe, or nil (said once, at start) when mail is off.
    /// `breakers`: the registry to make its breaker in (readiness lists it, operators force
    /// it by name); nil for one of its own.
    static func make(_ settings: FleetSettings, breakers: CircuitBreakers?, logger: Logger) throws -> Mailer? {
        guard let url = settings.mailSMTPURL else {
            logger.notice("mail is off (mail.smtp.url is unset): no welcome e-mail is sent or queued")
            return nil
        }
        var configuration = try SMTPConfiguration(url: url)
        configuration.timeout = settings.mailTimeout
        let policy = CircuitBreakerPolicy(
            window: .time(seconds: 60), minimumCalls: 5, failureRateThreshold: 0.5, slowCallDuration: settings.mailTimeout,
            openDuration: breakerOpen, halfOpenPermits: 1
        )
        let breaker = breakers?.breaker("smtp", policy: policy) ?? CircuitBreaker(name: "smtp", policy: policy, logger: logger)
        return Mailer(client: SMTPClient(configuration), from: settings.mailFrom, breaker: breaker)
    }

    /// Sends `message` through the breaker. A server that cannot be reached, does not
    /// answer or refuses for now counts against it; a message it rejects for good (a bad
    /// address) was answered, and does not.
    func send(_ message: MailMessage) async throws {
        try await breaker.run(classify: Self.classify) { try await client.send(message) }
    }

    static func classify(_ error: any Error) -> CircuitBreakerState.Outcome {
        guard let error = error as? SMTPError else { return .failure }
        switch error.code {
        case .permanent: return .success
        case .invalid: return .ignored
        default: return .failure
        }
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
