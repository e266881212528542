public import Configuration
public import FleetData
public import FleetHTTP
public import FleetObservability
import FleetMail
import FleetRedis
public import FleetResilience
import Foundation
public import Logging

/// Every setting Fleet reads, with its default. `FleetSettings.documentation` lists them
/// for `fleet settings` and the README, and a test checks the README against it.
///
/// Keys are dotted (`http.port`); they are read from CLI flags (`--http-port`), from
/// environment variables (`FLEET_HTTP_PORT`) and from an optional JSON file, in that order.
public struct FleetSettings: Sendable {
    public var httpHost: String
    public var httpPort: Int
    public var adminHost: String
    public var adminPort: Int
    public var connectionTimeouts: ConnectionTimeouts
    public var maxConnections: Int
    public var readinessCacheTTL: Duration
    /// How long the API keeps serving after readiness fails on SIGTERM.
    public var drainDelay: Duration
    public var dataDirectory: String
    public var databasePath: String
    public var databaseURL: String?
    public var databasePoolMin: Int
    public var databasePoolMax: Int
    public var databasePoolIdleTimeout: Duration
    public var databaseConnectTimeout: Duration
    public var databaseReplicaURLs: [String]
    public var databaseReplicaMaxLag: Duration
    /// Physical shards after the first (which is `databaseURL` and its replicas).
    public var databaseShards: [ShardNode]
    public var databaseShardMapFile: String?
    public var databaseShardTimeout: Duration
    public var partialLists: Bool
    public var databaseReaders: Int
    public var databaseSynchronous: String
    public var databaseAcquireTimeout: Duration
    public var databaseStatementTimeout: Duration
    public var bodyLimitBytes: Int
    /// The API's adaptive concurrency limit (load shedding); nil when off.
    public var shedding: AdaptiveLimitPolicy?
    /// How long an API request may wait before it runs (load shedding); nil when off.
    public var sheddingQueue: QueueDelayState.Policy?
    public var bcryptCost: Int
    public var bcryptQueue: Int
    public var jwtSecret: String?
    public var jwtTTL: Duration
    public var logLevel: Logger.Level
    public var accessLog: Bool
    public var logFormat: LogFormat
    public var tracing: TracingOptions
    public var redisURL: String?
    public var redisConnections: Int
    public var redisTimeout: Duration
    public var cacheEnabled: Bool
    public var cacheTTL: Duration
    public var cacheEntries: Int
    public var cacheBytes: Int
    public var rateLimitEnabled: Bool
    public var rateLimitAuthPerMinute: Int
    public var rateLimitWritePerMinute: Int
    public var rateLimitReadPerMinute: Int
    public var trustedProxies: [CIDR]
    /// The queues this process works: nil for every queue, empty for none.
    public var jobQueues: [String]?
    public var jobConcurrency: Int
    public var jobLease: Duration
    public var jobPollInterval: Duration
    public var jobGrace: Duration
    public var jobRetention: Duration
    public var jobDeadRetention: Duration
    public var mailSMTPURL: String?
    public var feed: FeedPolicy
    public var mailFrom: String
    public var mailTimeout: Duration
    public var recommender: RecommenderSettings
    /// The token that the ops page's actions (retry or discard a dead job) require; nil
    /// when unset, and then those actions are refused.
    public var opsAdminToken: String?

    /// One documented setting.
    public struct Entry: Sendable {
        public let key: String
        public let defaultValue: String
        public let help: String
    }

    public static let documentation: [Entry] = [
        Entry(key: "http.host", defaultValue: "127.0.0.1", help: "Address to listen on (0.0.0.0 for all interfaces)."),
        Entry(key: "http.port", defaultValue: "8080", help: "TCP port to listen on."),
        Entry(key: "http.admin.host", defaultValue: "127.0.0.1", help: "Address of the admin listener (`/metrics`, operator actions); keep it off the public network."),
        Entry(key: "http.admin.port", defaultValue: "9464", help: "TCP port of the admin listener (0: any free port, logged at start)."),
        Entry(key: "http.drain.delay.ms", defaultValue: "0", help: "On SIGTERM, keep serving this long after readiness fails, so balancers with active checks (HAProxy, Kubernetes endpoints) stop routing here first (e.g. 3000 behind HAProxy's 1 s checks)."),
        Entry(key: "http.idle.timeout.seconds", defaultValue: "60", help: "A connection with no request in progress for this long is closed."),
        Entry(key: "http.header.timeout.ms", defaultValue: "10000", help: "Most time from a request's first byte to the end of its headers; past it the connection is closed."),
        Entry(key: "http.body.timeout.ms", defaultValue: "30000", help: "Most time from the end of a request's headers to the end of its body; past it the connection is closed."),
        Entry(key: "http.max.connections", defaultValue: "4096", help: "Most open client connections; past it new ones wait in the listen backlog (keep the process's file limit above it)."),
        Entry(key: "health.ready.cache.ms", defaultValue: "1000", help: "How long a `/health/ready` result is reused (its checks query every database)."),
        Entry(key: "data.dir", defaultValue: "./data", help: "Folder for the embedded database and the generated JWT secret."),
        Entry(key: "database.url", defaultValue: "unset (SQLite)", help: "PostgreSQL to use instead of the embedded SQLite: `postgres://user:password@host:5432/database` (topology T1)."),
        Entry(key: "database.pool.min", defaultValue: "0", help: "PostgreSQL connections kept open when idle."),
        Entry(key: "database.pool.max", defaultValue: "20", help: "Most PostgreSQL connections per instance; requests beyond it wait for a free one."),
        Entry(key: "database.pool.idle.timeout.seconds", defaultValue: "60", help: "PostgreSQL connections idle this long are closed (down to `database.pool.min`)."),
        Entry(key: "database.connect.timeout.ms", defaultValue: "10000", help: "How long opening a PostgreSQL connection may take."),
        Entry(key: "database.statement.timeout.ms", defaultValue: "10000", help: "How long a PostgreSQL statement may go unanswered before it fails with 503 and its connection is closed (raise it for `fleet migrate` on large tables)."),
        Entry(key: "database.replica.urls", defaultValue: "unset (no replicas)", help: "Streaming replicas of `database.url`, comma-separated `postgres://` URLs: reads go to them, writes to the primary."),
        Entry(key: "database.replica.max.lag.ms", defaultValue: "2000", help: "Replicas further behind the primary than this are skipped until they catch up."),
        Entry(key: "database.shard.<n>.url", defaultValue: "unset (one shard)", help: "Physical shard n (1, 2, ...; shard 0 is `database.url`): a `postgres://` URL, or `sqlite:PATH` for a file (topology T3)."),
        Entry(key: "database.shard.<n>.replica.urls", defaultValue: "unset (no replicas)", help: "Streaming replicas of shard n's primary, comma-separated."),
        Entry(key: "database.shard.map.file", defaultValue: "unset (even split)", help: "File mapping the 1024 logical shards onto physical shards (`0-511:0,512-1023:1`); `fleet shard-move` rewrites it."),
        Entry(key: "database.shard.timeout.ms", defaultValue: "2000", help: "How long each shard may take in a scatter-gather (global list, tags, feed) before the request fails with 503."),
        Entry(key: "database.shard.partial.lists", defaultValue: "true", help: "With a shard down, lists that gather from every shard answer from the others, with `X-Fleet-Partial: shards=N` (false: 503)."),
        Entry(key: "database.sqlite.path", defaultValue: "<data.dir>/fleet.sqlite", help: "SQLite database file (WAL mode)."),
        Entry(key: "database.sqlite.readers", defaultValue: "4", help: "Read-only SQLite connections (reads run in parallel; writes are queued on one writer)."),
        Entry(key: "database.sqlite.synchronous", defaultValue: "normal", help: "SQLite `synchronous` pragma: `normal` survives a killed process, `full` also a power cut."),
        Entry(key: "database.acquire.timeout.ms", defaultValue: "10000", help: "How long a request waits for a free database connection (SQLite or PostgreSQL) before failing with 503."),
        Entry(key: "http.body.limit.bytes", defaultValue: "1048576", help: "Largest accepted request body; larger ones get 413."),
        Entry(key: "auth.bcrypt.cost", defaultValue: "12", help: "bcrypt cost for new password hashes (4-31; each step doubles the time)."),
        Entry(key: "auth.bcrypt.queue", defaultValue: "32", help: "Password hashes that may wait for a core (one runs per core); past it sign-ins get 503 with `Retry-After` at once."),
        Entry(key: "auth.jwt.secret", defaultValue: "generated", help: "HMAC-SHA256 secret for tokens, at least 32 bytes. Unset: a random one is created in `data.dir` and reused."),
        Entry(key: "auth.jwt.ttl.seconds", defaultValue: "2592000", help: "Token lifetime (30 days)."),
        Entry(key: "log.level", defaultValue: "info", help: "trace, debug, info, notice, warning, error or critical."),
        Entry(key: "log.access", defaultValue: "false", help: "Log one line per request (at info)."),
        Entry(key: "log.format", defaultValue: "text", help: "`text` (for a terminal) or `json` (one object a line for a log pipeline: time, level, message, request_id, trace_id, span_id, metadata)."),
        Entry(key: "tracing.enabled", defaultValue: "false", help: "Record spans and export them over OTLP/HTTP; needs a build with `--traits OTLP`. W3C `traceparent` is honoured and sent on."),
        Entry(key: "tracing.sample.ratio", defaultValue: "0.01", help: "Share of new traces recorded (0-1); a request with a sampled `traceparent` is always recorded."),
        Entry(key: "tracing.otlp.endpoint", defaultValue: "http://127.0.0.1:4318", help: "OTLP/HTTP collector base URL; spans are sent to `<endpoint>/v1/traces` (protobuf)."),
        Entry(key: "redis.url", defaultValue: "unset (no Redis)", help: "Redis for the shared cache (L2), cross-instance invalidation and rate limits: `redis://user:password@host:6379/0`."),
        Entry(key: "redis.connections", defaultValue: "2", help: "Multiplexed Redis connections per instance (commands are pipelined on each)."),
        Entry(key: "redis.timeout.ms", defaultValue: "250", help: "Connect and command timeout for Redis; past it the cache and limiter fall back to local."),
        Entry(key: "cache.enabled", defaultValue: "true", help: "Cache articles, users, tags and list pages (L1 in process, L2 in Redis when configured)."),
        Entry(key: "cache.ttl.seconds", defaultValue: "300", help: "How long a cached entry is fresh (writes invalidate it sooner)."),
        Entry(key: "cache.l1.entries", defaultValue: "100000", help: "Most entries per cache in process memory."),
        Entry(key: "cache.l1.megabytes", defaultValue: "256", help: "Most bytes per cache in process memory."),
        Entry(key: "http.shedding.enabled", defaultValue: "true", help: "Shed API requests past an adaptive concurrency limit (503 with Retry-After at once; anonymous reads first)."),
        Entry(key: "http.shedding.limit.initial", defaultValue: "100", help: "The adaptive limit's starting value (concurrent API requests)."),
        Entry(key: "http.shedding.limit.min", defaultValue: "16", help: "The adaptive limit never falls below this."),
        Entry(key: "http.shedding.limit.max", defaultValue: "2000", help: "The adaptive limit never rises above this."),
        Entry(key: "http.shedding.queue.target.ms", defaultValue: "5", help: "While requests keep waiting longer than this before they run (a standing queue), shed those that did; 0 turns it off."),
        Entry(key: "http.shedding.queue.interval.ms", defaultValue: "100", help: "How long waits must stay above the target to count as a standing queue."),
        Entry(key: "ratelimit.enabled", defaultValue: "true", help: "Rate-limit API requests (GCRA; shared through Redis when configured, else per instance)."),
        Entry(key: "ratelimit.auth.per.minute", defaultValue: "20", help: "Sign-ups, logins and password changes per client address per minute."),
        Entry(key: "ratelimit.write.per.minute", defaultValue: "120", help: "Other writes per user (or client IP when anonymous) per minute."),
        Entry(key: "ratelimit.read.per.minute", defaultValue: "1200", help: "Reads per user (or client IP when anonymous) per minute."),
        Entry(key: "http.trusted.proxies", defaultValue: "127.0.0.0/8,::1/128", help: "CIDRs of load balancers whose `X-Forwarded-For` is believed (comma-separated; empty for none)."),
        Entry(key: "jobs.workers", defaultValue: "all", help: "Queues whose jobs this process runs: `all`, `none` (`fleet serve --workers none`), or a comma-separated list."),
        Entry(key: "jobs.concurrency", defaultValue: "4", help: "Most jobs of each queue running at once in this process."),
        Entry(key: "jobs.lease.seconds", defaultValue: "30", help: "How long a worker holds a job without renewing it (renewed every third of it while it runs); a dead worker's jobs come back after it."),
        Entry(key: "jobs.poll.ms", defaultValue: "1000", help: "Longest wait before a worker looks for ready jobs without a wake-up (NOTIFY on PostgreSQL, in-process on SQLite)."),
        Entry(key: "jobs.grace.seconds", defaultValue: "10", help: "On shutdown, how long running jobs may take to finish before they are released to another worker."),
        Entry(key: "jobs.retention.hours", defaultValue: "24", help: "How long completed jobs are kept before being deleted (in batches)."),
        Entry(key: "feed.fanout.max.followers", defaultValue: "10000", help: "Authors with more followers are not fanned out: their articles are merged into feeds at read time."),
        Entry(key: "feed.fanout.inline.followers", defaultValue: "100", help: "Fan-outs to at most this many followers run right after the article commits (the feed is fresh when the request returns); bigger ones run as jobs."),
        Entry(key: "feed.timeline.max", defaultValue: "1000", help: "Most articles kept in a user's timeline (older ones are trimmed; the feed's count stays exact)."),
        Entry(key: "mail.smtp.url", defaultValue: "unset (no mail)", help: "SMTP server for the welcome e-mail: `smtp://user:password@host:25` (AUTH PLAIN when a user is given; plain SMTP, for a local relay)."),
        Entry(key: "mail.from", defaultValue: "no-reply@fleet.localhost", help: "The sender address of Fleet's e-mail."),
        Entry(key: "mail.timeout.ms", defaultValue: "10000", help: "Most time one SMTP session may take; past it the mail is retried later."),
        Entry(key: "jobs.dead.retention.hours", defaultValue: "168", help: "How long dead jobs are kept for operators (`fleet jobs dead`) before being deleted."),
        Entry(key: "ops.admin.token", defaultValue: "unset (actions off)", help: "Secret the ops page (`/ops` on the admin listener) asks for before it retries or discards a dead job; unset, those actions are refused with 403."),
    ] + RecommenderSettings.documentation

    public init(config: ConfigReader) throws {
        httpHost = config.string(forKey: "http.host", default: "127.0.0.1")
        httpPort = try config.integer(forKey: "http.port", default: 8080)
        adminHost = config.string(forKey: "http.admin.host", default: "127.0.0.1")
        adminPort = try config.integer(forKey: "http.admin.port", default: 9464)
        drainDelay = .milliseconds(try config.integer(forKey: "http.drain.delay.ms", default: 0))
        guard drainDelay >= .zero, drainDelay <= .seconds(600) else { throw SettingsError("http.drain.delay.ms must be 0-600000") }
        connectionTimeouts = ConnectionTimeouts(
            idle: .seconds(try config.integer(forKey: "http.idle.timeout.seconds", default: 60)),
            header: .milliseconds(try config.integer(forKey: "http.header.timeout.ms", default: 10_000)),
            body: .milliseconds(try config.integer(forKey: "http.body.timeout.ms", default: 30_000))
        )
        maxConnections = try config.integer(forKey: "http.max.connections", default: 4096)
        readinessCacheTTL = .milliseconds(try config.integer(forKey: "health.ready.cache.ms", default: 1000))
        dataDirectory = config.string(forKey: "data.dir", default: "./data")
        databasePath = config.string(forKey: "database.sqlite.path", default: dataDirectory + "/fleet.sqlite")
        databaseURL = config.string(forKey: "database.url", isSecret: true)
        databasePoolMin = try config.integer(forKey: "database.pool.min", default: 0)
        databasePoolMax = try config.integer(forKey: "database.pool.max", default: 20)
        databasePoolIdleTimeout = .seconds(try config.integer(forKey: "database.pool.idle.timeout.seconds", default: 60))
        databaseConnectTimeout = .milliseconds(try config.integer(forKey: "database.connect.timeout.ms", default: 10_000))
        databaseStatementTimeout = .milliseconds(try config.integer(forKey: "database.statement.timeout.ms", default: 10_000))
        guard databaseStatementTimeout >= .milliseconds(1) else { throw SettingsError("database.statement.timeout.ms must be at least 1") }
        databaseReplicaURLs = Self.list(config.string(forKey: "database.replica.urls", isSecret: true))
        databaseReplicaMaxLag = .milliseconds(try config.integer(forKey: "database.replica.max.lag.ms", default: 2000))
        databaseShards = []
        while let url = config.string(forKey: ConfigKey("database.shard.\(databaseShards.count + 1).url"), isSecret: true) {
            let replicas = config.string(forKey: ConfigKey("database.shard.\(databaseShards.count + 1).replica.urls"), isSecret: true)
            databaseShards.append(ShardNode(url: url, replicaURLs: Self.list(replicas)))
        }
        databaseShardMapFile = config.string(forKey: "database.shard.map.file")
        databaseShardTimeout = .milliseconds(try config.integer(forKey: "database.shard.timeout.ms", default: 2000))
        partialLists = try config.boolean(forKey: "database.shard.partial.lists", default: true)
        databaseReaders = try config.integer(forKey: "database.sqlite.readers", default: 4)
        databaseSynchronous = config.string(forKey: "database.sqlite.synchronous", default: "normal")
        databaseAcquireTimeout = .milliseconds(try config.integer(forKey: "database.acquire.timeout.ms", default: 10_000))
        bodyLimitBytes = try config.integer(forKey: "http.body.limit.bytes", default: 1_048_576)
        if try config.boolean(forKey: "http.shedding.enabled", default: true) {
            var policy = AdaptiveLimitPolicy()
            policy.initialLimit = Double(try config.integer(forKey: "http.shedding.limit.initial", default: 100))
            policy.minimumLimit = Double(try config.integer(forKey: "http.shedding.limit.min", default: 16))
            policy.maximumLimit = Double(try config.integer(forKey: "http.shedding.limit.max", default: 2_000))
            guard policy.minimumLimit >= 1, policy.minimumLimit <= policy.initialLimit, policy.initialLimit <= policy.maximumLimit else {
                throw SettingsError("http.shedding.limit.*: need 1 <= min <= initial <= max")
            }
            shedding = policy
            let target = try config.integer(forKey: "http.shedding.queue.target.ms", default: 5)
            let interval = try config.integer(forKey: "http.shedding.queue.interval.ms", default: 100)
            guard target >= 0, interval > target else { throw SettingsError("http.shedding.queue.*: need 0 <= target < interval") }
            if target > 0 { sheddingQueue = QueueDelayState.Policy(target: .milliseconds(target), interval: .milliseconds(interval)) }
        }
        bcryptCost = try config.integer(forKey: "auth.bcrypt.cost", default: 12)
        bcryptQueue = try config.integer(forKey: "auth.bcrypt.queue", default: 32)
        jwtSecret = config.string(forKey: "auth.jwt.secret", isSecret: true)
        jwtTTL = .seconds(try config.integer(forKey: "auth.jwt.ttl.seconds", default: 2_592_000))
        let level = config.string(forKey: "log.level", default: "info")
        guard let parsedLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw SettingsError("log.level: unknown level \(level)")
        }
        logLevel = parsedLevel
        accessLog = try config.boolean(forKey: "log.access", default: false)
        let format = config.string(forKey: "log.format", default: "text")
        guard let parsedFormat = LogFormat(rawValue: format.lowercased()) else {
            throw SettingsError("log.format: \(format) is neither text nor json")
        }
        logFormat = parsedFormat
        tracing = TracingOptions(
            enabled: try config.boolean(forKey: "tracing.enabled", default: false),
            sampleRatio: try config.number(forKey: "tracing.sample.ratio", default: 0.01),
            endpoint: config.string(forKey: "tracing.otlp.endpoint", default: "http://127.0.0.1:4318")
        )
        guard (0...1).contains(tracing.sampleRatio) else { throw SettingsError("tracing.sample.ratio must be between 0 and 1") }
        guard let endpoint = URL(string: tracing.endpoint), ["http", "https"].contains(endpoint.scheme ?? ""), endpoint.host != nil else {
            throw SettingsError("tracing.otlp.endpoint: \(tracing.endpoint) is not an http(s) URL")
        }
        redisURL = config.string(forKey: "redis.url", isSecret: true)
        redisConnections = try config.integer(forKey: "redis.connections", default: 2)
        redisTimeout = .milliseconds(try config.integer(forKey: "redis.timeout.ms", default: 250))
        cacheEnabled = try config.boolean(forKey: "cache.enabled", default: true)
        cacheTTL = .seconds(try config.integer(forKey: "cache.ttl.seconds", default: 300))
        cacheEntries = try config.integer(forKey: "cache.l1.entries", default: 100_000)
        cacheBytes = try config.integer(forKey: "cache.l1.megabytes", default: 256) << 20
        rateLimitEnabled = try config.boolean(forKey: "ratelimit.enabled", default: true)
        rateLimitAuthPerMinute = try config.integer(forKey: "ratelimit.auth.per.minute", default: 20)
        rateLimitWritePerMinute = try config.integer(forKey: "ratelimit.write.per.minute", default: 120)
        rateLimitReadPerMinute = try config.integer(forKey: "ratelimit.read.per.minute", default: 1200)
        let proxies = config.string(forKey: "http.trusted.proxies", default: "127.0.0.0/8,::1/128")
        trustedProxies = try proxies.split(separator: ",").filter { !$0.allSatisfy(\.isWhitespace) }.map { text in
            guard let cidr = CIDR(text) else { throw SettingsError("http.trusted.proxies: \(text) is not an address or CIDR") }
            return cidr
        }
        let workers = config.string(forKey: "jobs.workers", default: "all")
        jobQueues = switch workers.lowercased() {
        case "all": nil
        case "none", "": []
        default: Self.list(workers)
        }
        jobConcurrency = try config.integer(forKey: "jobs.concurrency", default: 4)
        jobLease = .seconds(try config.integer(forKey: "jobs.lease.seconds", default: 30))
        jobPollInterval = .milliseconds(try config.integer(forKey: "jobs.poll.ms", default: 1000))
        jobGrace = .seconds(try config.integer(forKey: "jobs.grace.seconds", default: 10))
        jobRetention = .seconds(try 3600 * config.integer(forKey: "jobs.retention.hours", default: 24))
        jobDeadRetention = .seconds(try 3600 * config.integer(forKey: "jobs.dead.retention.hours", default: 168))
        feed = FeedPolicy(
            fanoutMaxFollowers: try config.integer(forKey: "feed.fanout.max.followers", default: 10_000),
            inlineFollowers: try config.integer(forKey: "feed.fanout.inline.followers", default: 100),
            timelineMax: try config.integer(forKey: "feed.timeline.max", default: 1000)
        )
        mailSMTPURL = config.string(forKey: "mail.smtp.url", isSecret: true)
        mailFrom = config.string(forKey: "mail.from", default: "no-reply@fleet.localhost")
        mailTimeout = .milliseconds(try config.integer(forKey: "mail.timeout.ms", default: 10_000))
        recommender = try RecommenderSettings(config: config)
        opsAdminToken = config.string(forKey: "ops.admin.token", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        try validate()
    }

    private static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// Every physical shard, in order: the first from `database.url` (nil: the SQLite file).
    public var shardNodes: [ShardNode] {
        [ShardNode(url: databaseURL, replicaURLs: databaseReplicaURLs)] + databaseShards
    }

    /// The shard map: from `database.shard.map.file`, else an even split.
    public func shardMap() throws -> ShardMap {
        guard let file = databaseShardMapFile else { return ShardMap(evenlyOver: shardNodes.count) }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw SettingsError("database.shard.map.file: cannot read \(file)")
        }
        do {
            return try ShardMap(parsing: text, physicalCount: shardNodes.count)
        } catch {
            throw SettingsError("database.shard.map.file: \(error)")
        }
    }

    private func validate() throws {
        guard (1...65535).contains(httpPort) || httpPort == 0 else { throw SettingsError("http.port must be 0-65535") }
        guard (4...31).contains(bcryptCost) else { throw SettingsError("auth.bcrypt.cost must be 4-31") }
        guard (0...100_000).contains(bcryptQueue) else { throw SettingsError("auth.bcrypt.queue must be 0-100000") }
        guard (1...65535).contains(adminPort) || adminPort == 0 else { throw SettingsError("http.admin.port must be 0-65535") }
        guard [connectionTimeouts.idle, connectionTimeouts.header, connectionTimeouts.body].allSatisfy({ $0 >= .milliseconds(1) }) else {
            throw SettingsError("http.idle.timeout.seconds, http.header.timeout.ms and http.body.timeout.ms must be at least 1")
        }
        guard maxConnections >= 1 else { throw SettingsError("http.max.connections must be at least 1") }
        guard readinessCacheTTL >= .zero else { throw SettingsError("health.ready.cache.ms must not be negative") }
        guard (1...256).contains(databaseReaders) else { throw SettingsError("database.sqlite.readers must be 1-256") }
        guard databasePoolMin >= 0, (1...1000).contains(databasePoolMax), databasePoolMin <= databasePoolMax else {
            throw SettingsError("database.pool.min/max must satisfy 0 <= min <= max <= 1000")
        }
        guard databasePoolIdleTimeout >= .seconds(1), databaseConnectTimeout >= .milliseconds(1) else {
            throw SettingsError("database.pool.idle.timeout.seconds must be at least 1 and database.connect.timeout.ms at least 1")
        }
        if !databaseReplicaURLs.isEmpty, databaseURL == nil { throw SettingsError("database.replica.urls needs database.url (the primary)") }
        for node in databaseShards where !node.replicaURLs.isEmpty && node.url?.hasPrefix("sqlite:") == true {
            throw SettingsError("database.shard.<n>.replica.urls: SQLite shards have no replicas")
        }
        guard databaseShardTimeout >= .milliseconds(1) else { throw SettingsError("database.shard.timeout.ms must be at least 1") }
        _ = try shardMap()
        guard databaseReplicaMaxLag >= .milliseconds(1) else { throw SettingsError("database.replica.max.lag.ms must be at least 1") }
        guard bodyLimitBytes >= 1024 else { throw SettingsError("http.body.limit.bytes must be at least 1024") }
        if let jwtSecret, jwtSecret.utf8.count < 32 { throw SettingsError("auth.jwt.secret must be at least 32 bytes") }
        guard jwtTTL >= .seconds(60) else { throw SettingsError("auth.jwt.ttl.seconds must be at least 60") }
        guard (1...64).contains(redisConnections) else { throw SettingsError("redis.connections must be 1-64") }
        guard redisTimeout >= .milliseconds(1) else { throw SettingsError("redis.timeout.ms must be at least 1") }
        guard [rateLimitAuthPerMinute, rateLimitWritePerMinute, rateLimitReadPerMinute].allSatisfy({ $0 >= 1 }) else {
            throw SettingsError("ratelimit.*.per.minute must be at least 1")
        }
        guard cacheTTL >= .seconds(1) else { throw SettingsError("cache.ttl.seconds must be at least 1") }
        guard cacheEntries >= 1, cacheBytes >= 1 << 20 else { throw SettingsError("cache.l1.entries must be at least 1 and cache.l1.megabytes at least 1") }
        if let redisURL { _ = try RedisConfiguration(url: redisURL) }
        guard (1...1000).contains(jobConcurrency) else { throw SettingsError("jobs.concurrency must be 1-1000") }
        guard jobLease >= .seconds(3), jobPollInterval >= .milliseconds(10), jobGrace >= .zero else {
            throw SettingsError("jobs.lease.seconds must be at least 3, jobs.poll.ms at least 10 and jobs.grace.seconds not negative")
        }
        guard jobRetention >= .zero, jobDeadRetention >= .zero else { throw SettingsError("jobs.*retention.hours must not be negative") }
        guard feed.fanoutMaxFollowers >= 0, feed.inlineFollowers >= 0, (1...100_000).contains(feed.timelineMax) else {
            throw SettingsError("feed.fanout.*.followers must not be negative and feed.timeline.max must be 1-100000")
        }
        if let mailSMTPURL {
            do { _ = try SMTPConfiguration(url: mailSMTPURL) } catch { throw SettingsError(error.message) }
        }
        guard MailMessage.isAddress(mailFrom) else { throw SettingsError("mail.from must be a plain address (user@host)") }
        guard mailTimeout >= .milliseconds(1) else { throw SettingsError("mail.timeout.ms must be at least 1") }
    }

    /// Builds the reader Fleet uses: CLI flags, then `FLEET_*` environment variables,
    /// then the JSON file named by `--config` / `FLEET_CONFIG` if any.
    public static func reader(arguments: [String], configFile: String?) async throws -> ConfigReader {
        // A flag given twice would be read as a list, which no setting is, and so silently
        // ignored: refused instead.
        var seen: Set<String> = []
        for argument in arguments where argument.hasPrefix("--") {
            let flag = String(argument.prefix { $0 != "=" })
            guard seen.insert(flag).inserted else { throw SettingsError("\(flag) is given twice") }
        }
        var providers: [any ConfigProvider] = [
            CommandLineArgumentsProvider(arguments: ["fleet"] + arguments),
            KeyMappingProvider(upstream: EnvironmentVariablesProvider()) { key in key.prepending(["fleet"]) },
        ]
        let file = configFile ?? ProcessInfo.processInfo.environment["FLEET_CONFIG"]
        if let file {
            providers.append(try await FileProvider<JSONSnapshot>(filePath: .init(file)))
        }
        return ConfigReader(providers: providers)
    }
}

/// One physical shard as configured: its primary (a `postgres://` URL, `sqlite:PATH`, or
/// nil for the embedded file) and its replicas.
public struct ShardNode: Sendable {
    public var url: String?
    public var replicaURLs: [String]
}

/// A setting with a value Fleet cannot use; the message names the key.
public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
