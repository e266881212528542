import FleetSupport

/// Where Redis is and how to talk to it.
public struct RedisConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// ACL user name (Redis 6+); nil with a password means the `default` user.
    public var username: String?
    public var password: String?
    /// The logical database (`SELECT n`).
    public var database: Int
    /// Multiplexed connections: each carries many callers' commands at once.
    public var connections: Int = 2
    /// How long a command may wait for its reply before it fails and its connection is replaced.
    public var commandTimeout: Duration = .milliseconds(500)
    public var connectTimeout: Duration = .milliseconds(500)
    /// First and longest wait between reconnect attempts; the wait doubles in between, with jitter.
    public var reconnectBackoff: (first: Duration, max: Duration) = (.milliseconds(50), .seconds(2))
    /// How often an idle connection is pinged, so a dead server is noticed without traffic.
    public var healthCheckInterval: Duration = .seconds(1)
    /// Ask for RESP3 (`HELLO 3`), falling back to RESP2 on servers without it.
    public var preferRESP3 = true
    /// Shown by `CLIENT LIST`.
    public var clientName: String? = "fleet"

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Reads `redis://[user[:password]@]host[:port][/database]`. A password alone is
    /// written `redis://:password@host`.
    public init(url: String) throws(RedisError) {
        let shape = "must look like redis://user:password@host:6379/0"
        let parts: ServiceURL
        do {
            parts = try ServiceURL(url)
        } catch {
            throw .configuration("\(error); it \(shape)")
        }
        guard parts.scheme == "redis", parts.query == nil else { throw .configuration("the URL \(shape)") }
        var database = 0
        if !parts.path.isEmpty {
            guard let number = Int(parts.path), number >= 0 else { throw .configuration("the database must be a number; the URL \(shape)") }
            database = number
        }
        self.init(host: parts.host, port: parts.port ?? 6379, username: parts.user, password: parts.password, database: database)
    }
}
