public import FleetData
public import FleetJobs
import FleetCache
public import FleetResilience
import FleetSupport
public import Logging

/// The physical databases Conduit's rows live on, each instrumented.
public typealias Shards = ShardedDatabase<InstrumentedDatabase>

/// Everything the Conduit domain needs from the outside world, passed in once.
public struct ConduitServices: Sendable {
    public let shards: Shards
    public let ids: FleetIDGenerator
    public let passwords: any PasswordHasher
    public let tokens: TokenService
    public let caches: ConduitCaches
    /// How feeds are built.
    public let feed: FeedPolicy
    /// Sends the welcome e-mail; nil when `mail.smtp.url` is unset (nothing is enqueued).
    public let mailer: Mailer?
    /// Wakes this process's workers after a ready job commits (see `enqueued`).
    public let wakeups: JobWakeups
    /// The recommender's client and the popular fallback (`recommendations`).
    public let recommending: Recommending
    /// Whether a list that gathers from every shard answers from the shards that are up
    /// when one is down, saying so (`database.shard.partial.lists`).
    public let partialLists: Bool
    public let logger: Logger

    public init(
        shards: Shards, ids: FleetIDGenerator, passwords: any PasswordHasher, tokens: TokenService,
        caches: ConduitCaches, feed: FeedPolicy = FeedPolicy(), mailer: Mailer? = nil, wakeups: JobWakeups = JobWakeups(), logger: Logger,
        recommending: Recommending? = nil, partialLists: Bool = true
    ) {
        self.shards = shards
        self.partialLists = partialLists
        self.feed = feed
        self.mailer = mailer
        self.wakeups = wakeups
        self.caches = caches
        self.ids = ids
        self.passwords = passwords
        self.tokens = tokens
        self.logger = logger
        self.recommending = recommending ?? Recommending(client: nil, logger: logger)
    }

    /// The services over the shards (and Redis, if any), with the token secret resolved.
    public static func make(
        _ settings: FleetSettings, shards: Shards, redis: RedisServices?, passwords: (any PasswordHasher)?, logger: Logger,
        breakers: CircuitBreakers? = nil
    ) async throws -> ConduitServices {
        var policy = CachePolicy(ttl: settings.cacheTTL, maxEntries: settings.cacheEntries, maxBytes: settings.cacheBytes)
        policy.enabled = settings.cacheEnabled
        return ConduitServices(
            shards: shards,
            ids: FleetIDGenerator(),
            passwords: passwords ?? BcryptPasswordHasher(cost: settings.bcryptCost, queue: settings.bcryptQueue),
            tokens: await TokenService(secret: try TokenSecret.resolve(settings, logger: logger), lifetime: settings.jwtTTL),
            caches: ConduitCaches(policy: policy, bus: redis?.bus, logger: logger),
            feed: settings.feed,
            mailer: try Mailer.make(settings, breakers: breakers, logger: logger),
            logger: logger,
            recommending: Recommending.make(settings.recommender, breakers: breakers, logger: logger),
            partialLists: settings.partialLists
        )
    }

    public var users: UserService { UserService(services: self) }
    public var profiles: ProfileService { ProfileService(services: self) }
    public var articles: ArticleService { ArticleService(services: self) }
    public var comments: CommentService { CommentService(services: self) }
    var directory: UserDirectory { UserDirectory(shards: shards) }
    public var edges: EdgeRelay { EdgeRelay(services: self) }
    var timelines: Timelines { Timelines(services: self) }
    public var recommendations: RecommendationService { RecommendationService(services: self) }

    func now() -> Int64 { WallClock.milliseconds() }

    /// Wakes the workers of `queue` in this process: a ready job of it just committed
    /// (on PostgreSQL, NOTIFY also wakes the other processes').
    func enqueued(_ queue: String) {
        wakeups.notify(queue: queue)
    }
}

/// Loads the per-viewer bits (following, favorited) for a whole page at once: a fixed
/// number of queries whatever the page size. Both live on the viewer's shard.
enum ViewerRelations {
    static func of(
        _ viewer: FleetID?, articles: [FleetID], authors: [FleetID], in shards: Shards
    ) async throws -> (favorited: Set<FleetID>, following: Set<FleetID>) {
        guard let viewer, !(articles.isEmpty && authors.isEmpty) else { return ([], []) }
        return try await shards.node(for: viewer).read { db in
            (try await favorited(by: viewer, among: articles, in: db), try await followed(by: viewer, among: authors, in: db))
        }
    }

    static func followed(by viewer: FleetID?, among users: some Collection<FleetID>, in db: any SQLExecutor) async throws -> Set<FleetID> {
        guard let viewer, !users.isEmpty else { return [] }
        let rows = try await db.query(
            "SELECT followee_id FROM follows WHERE follower_id = \(bind: viewer) AND followee_id IN (\(binds: Set(users)))"
        )
        return Set(try rows.map { try $0.decode(at: 0, as: FleetID.self) })
    }

    static func favorited(by viewer: FleetID?, among articles: some Collection<FleetID>, in db: any SQLExecutor) async throws -> Set<FleetID> {
        guard let viewer, !articles.isEmpty else { return [] }
        let rows = try await db.query(
            "SELECT article_id FROM favorites WHERE user_id = \(bind: viewer) AND article_id IN (\(binds: Set(articles)))"
        )
        return Set(try rows.map { try $0.decode(at: 0, as: FleetID.self) })
    }
}
