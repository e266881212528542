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
    public init(url: String) throws {
        let bad = RedisError.server("redis.url must look like redis://user:password@host:6379/0")
        guard url.hasPrefix("redis://") else { throw bad }
        var rest = Substring(url.dropFirst("redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = String(credentials[..<colon]).removingPercentEncodingIfAny
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncodingIfAny
            } else {
                username = String(credentials).removingPercentEncodingIfAny
            }
            if username == "" { username = nil }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else { throw bad }
                database = number
            }
            rest = rest[..<slash]
        }
        var port = 6379
        if let colon = rest.lastIndex(of: ":") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else { throw bad }
            port = number
            rest = rest[..<colon]
        }
        guard !rest.isEmpty else { throw bad }
        self.init(host: String(rest), port: port, username: username, password: password, database: database)
    }
}

extension String {
    /// Decodes `%XX` escapes (so a password may hold `@` or `:`); leaves malformed ones alone.
    fileprivate var removingPercentEncodingIfAny: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
