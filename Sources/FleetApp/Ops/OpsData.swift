/// What `GET /ops/data` answers: one instance's view of the fleet at a moment, and the
/// last minutes of samples for the sparklines. Plain data, so that the page, the tests
/// and a script read the same figures; times are Unix milliseconds, latencies
/// milliseconds, rates per second and ratios between 0 and 1.
public struct OpsData: Codable, Sendable {
    public var generatedAt: Int64
    public var instance: Instance
    /// Every instance that published a heartbeat to Redis in the last seconds (this one
    /// alone without Redis).
    public var instances: [Instance]
    /// All routes together over the recorder's window.
    public var traffic: Traffic
    public var routes: [Route]
    public var caches: [CacheLayer]
    public var redis: Redis
    public var shards: [Shard]
    public var pools: [Pool]
    public var queues: [Queue]
    public var deadJobs: [DeadJob]
    public var breakers: [Breaker]
    public var limiter: Limiter
    /// Whether retry and discard are possible (`ops.admin.token` is set).
    public var actionsEnabled: Bool
    /// What could not be read this time (a shard that did not answer), in words.
    public var problems: [String]
    public var history: [Sample]

    public struct Instance: Codable, Sendable, Equatable {
        public var id: String
        public var role: String
        public var address: String
        public var startedAt: Int64
        public var lastSeen: Int64
        public var rate: Double
        public var p99: Double
        public var errorRate: Double
    }

    public struct Traffic: Codable, Sendable, Equatable {
        public var windowSeconds: Double
        public var requests: Int
        public var totalRequests: Int
        public var rate: Double
        public var errorRate: Double
        public var p50: Double
        public var p95: Double
        public var p99: Double
    }

    public struct Route: Codable, Sendable, Equatable {
        /// `GET /api/articles/{slug}`.
        public var route: String
        public var requests: Int
        public var totalRequests: Int
        public var totalServerErrors: Int
        public var serverErrors: Int
        public var clientErrors: Int
        public var rate: Double
        public var errorRate: Double
        public var p50: Double
        public var p95: Double
        public var p99: Double
    }

    public struct CacheLayer: Codable, Sendable, Equatable {
        public var cache: String
        /// `l1` (process memory) or `l2` (Redis).
        public var layer: String
        public var hits: Int
        public var misses: Int
        public var hitRatio: Double
    }

    public struct Redis: Codable, Sendable, Equatable {
        public var configured: Bool
        public var connected: Bool
        public var breaker: String
        /// A PING's round trip now, nil when it got no answer.
        public var pingMilliseconds: Double?
    }

    public struct Shard: Codable, Sendable, Equatable {
        public var shard: Int
        public var system: String
        public var nodes: [Node]
    }

    public struct Node: Codable, Sendable, Equatable {
        public var address: String
        /// primary, replica or unknown (not answering probes).
        public var role: String
        /// up or down: whether calls reach it (its breaker lets them, and it answers).
        public var health: String
        public var breaker: String
        /// A replica's replay delay in milliseconds; 0 for a primary.
        public var lagMilliseconds: Double
    }

    public struct Pool: Codable, Sendable, Equatable {
        public var shard: Int
        public var inUse: Int
        public var waiting: Int
        /// Connections open now (PostgreSQL pools open them on demand; SQLite's are fixed).
        public var open: Int
        public var max: Int
    }

    public struct Queue: Codable, Sendable, Equatable {
        public var queue: String
        /// Ready now and waiting for a worker.
        public var depth: Int
        public var scheduled: Int
        public var running: Int
        public var dead: Int
        /// How long the oldest ready job has waited, in seconds.
        public var oldestSeconds: Double
    }

    public struct DeadJob: Codable, Sendable, Equatable {
        /// `SHARD:ID`, as `fleet jobs` and the retry and discard routes take it.
        public var id: String
        public var queue: String
        public var name: String
        public var attempts: Int
        public var error: String
        public var finishedAt: Int64
    }

    public struct Breaker: Codable, Sendable, Equatable {
        public var name: String
        public var state: String
        public var calls: Int
        public var failureRate: Double
    }

    public struct Limiter: Codable, Sendable, Equatable {
        public var enabled: Bool
        public var limit: Double
        public var inFlight: Int
    }

    /// One point of the sparklines.
    public struct Sample: Codable, Sendable, Equatable {
        public var at: Int64
        public var rate: Double
        public var errorRate: Double
        public var p99: Double
        public var cacheHitRatio: Double
        public var queueDepth: Int
        public var inFlight: Int
        /// Requests per second by route.
        public var routes: [String: Double]
    }
}
