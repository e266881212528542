import FleetMail
import Logging

/// Conduit's outgoing mail: the SMTP server of `mail.smtp.url` and the messages Conduit
/// sends through it.
public struct Mailer: Sendable {
    let client: SMTPClient
    let from: String

    /// The mailer the settings describe, or nil (said once, at start) when mail is off.
    static func make(_ settings: FleetSettings, logger: Logger) throws -> Mailer? {
        guard let url = settings.mailSMTPURL else {
            logger.notice("mail is off (mail.smtp.url is unset): no welcome e-mail is sent or queued")
            return nil
        }
        var configuration = try SMTPConfiguration(url: url)
        configuration.timeout = settings.mailTimeout
        return Mailer(client: SMTPClient(configuration), from: settings.mailFrom)
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
