import Configuration
import FleetSupport

/// The `recommender.*` settings: where the recommender role listens, and how the API
/// calls it. Kept apart from `FleetSettings`' own list so that the recommender is one
/// piece to read (and to leave out).
public struct RecommenderSettings: Sendable {
    /// The recommender the API asks (`http://host:port`); nil: none, readers get popular
    /// articles.
    public var url: String?
    /// The longest one call may take, waiting for a bulkhead permit included.
    public var timeout: Duration
    /// Where `fleet recommender` listens.
    public var host: String
    public var port: Int
    /// How long an open breaker refuses calls before it lets trial calls through.
    public var breakerOpen: Duration
    /// Calls in the breaker's window before failures can open it.
    public var breakerMinimumCalls: Int
    /// Calls in flight per API instance; as many more may wait.
    public var maxConcurrent: Int

    static let documentation: [FleetSettings.Entry] = [
        .init(key: "recommender.url", defaultValue: "unset (no recommender)", help: "The recommender the API asks for `GET /api/articles/recommended` (`http://127.0.0.1:8092`); unset, readers get popular articles."),
        .init(key: "recommender.timeout.ms", defaultValue: "300", help: "Most time one call to the recommender may take; past it the reader gets popular articles."),
        .init(key: "recommender.host", defaultValue: "127.0.0.1", help: "Address `fleet recommender` listens on."),
        .init(key: "recommender.port", defaultValue: "8092", help: "TCP port `fleet recommender` listens on (`/recommendations`, `/health/*`, `/metrics`)."),
        .init(key: "recommender.breaker.open.ms", defaultValue: "5000", help: "How long the API's breaker on the recommender stays open (answering popular at once) before trial calls."),
        .init(key: "recommender.breaker.min.calls", defaultValue: "10", help: "Calls to the recommender within 10 s before failures (half of them) open the breaker."),
        .init(key: "recommender.max.concurrent", defaultValue: "32", help: "Calls to the recommender in flight per API instance (a bulkhead); as many more may wait, past that: popular at once."),
    ]

    init(config: ConfigReader) throws {
        url = config.string(forKey: "recommender.url")
        timeout = .milliseconds(try config.integer(forKey: "recommender.timeout.ms", default: 300))
        host = config.string(forKey: "recommender.host", default: "127.0.0.1")
        port = try config.integer(forKey: "recommender.port", default: 8092)
        breakerOpen = .milliseconds(try config.integer(forKey: "recommender.breaker.open.ms", default: 5000))
        breakerMinimumCalls = try config.integer(forKey: "recommender.breaker.min.calls", default: 10)
        maxConcurrent = try config.integer(forKey: "recommender.max.concurrent", default: 32)
        try validate()
    }

    private func validate() throws {
        if let url {
            let parsed: ServiceURL
            do { parsed = try ServiceURL(url) } catch { throw SettingsError("recommender.url: \(error)") }
            guard parsed.scheme == "http" || parsed.scheme == "https" else { throw SettingsError("recommender.url must be an http:// or https:// URL") }
        }
        guard timeout >= .milliseconds(1) else { throw SettingsError("recommender.timeout.ms must be at least 1") }
        guard (1...65535).contains(port) || port == 0 else { throw SettingsError("recommender.port must be 0-65535") }
        guard breakerOpen >= .milliseconds(1) else { throw SettingsError("recommender.breaker.open.ms must be at least 1") }
        guard breakerMinimumCalls >= 1 else { throw SettingsError("recommender.breaker.min.calls must be at least 1") }
        guard (1...10_000).contains(maxConcurrent) else { throw SettingsError("recommender.max.concurrent must be 1-10000") }
    }
}
