public import FleetSupport

/// Where and how to send mail: an `smtp://[user:password@]host[:port]` URL (port 25 by
/// default). With a user, the client authenticates with AUTH PLAIN; this client speaks
/// plain SMTP only (a relay on the same host or network, or a local MTA that relays on).
public struct SMTPConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    /// The name given in EHLO.
    public var helloName: String
    /// The most a whole session may take, connection included.
    public var timeout: Duration

    public init(host: String, port: Int = 25, username: String? = nil, password: String? = nil, helloName: String = "fleet.localhost", timeout: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.helloName = helloName
        self.timeout = timeout
    }

    public init(url text: String) throws(SMTPError) {
        let url: ServiceURL
        do {
            url = try ServiceURL(text)
        } catch {
            throw SMTPError(.configuration, "mail.smtp.url: \(error)")
        }
        guard url.scheme == "smtp" else { throw SMTPError(.configuration, "mail.smtp.url must start with smtp://") }
        self.init(host: url.host, port: url.port ?? 25, username: url.user, password: url.password)
    }
}
