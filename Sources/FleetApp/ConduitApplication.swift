import Foundation
public import FleetCache
public import FleetData
public import FleetRedis
import FleetRateLimit
import FleetHTTP
public import FleetObservability
public import Hummingbird
public import Logging
public import Prometheus
import ServiceLifecycle
import Synchronization

/// Redis as the app uses it: one client, and the cache bus over it.
public struct RedisServices: Sendable {
    public let client: RedisClient
    public let bus: CacheBus
}

/// Builds the Conduit application from settings: storage, services and the router.
/// The executable runs what this returns; tests build the same thing in-process.
public enum ConduitApplication {
    /// Opens the databases the settings select: every physical shard (one by default: the
    /// embedded SQLite file, or PostgreSQL when `database.url` is set, with its replicas),
    /// runs what they need beside them (PostgreSQL's pools, replica tracking), applies
    /// migrations on every shard's primary, and hands them to `body`. Everything stops
    /// when `body` returns.
    public static func withDatabase<Result: Sendable>(
        _ settings: FleetSettings, logger: Logger,
        _ body: (Shards) async throws -> Result
    ) async throws -> Result {
        // The data folder holds the generated token secret on every topology.
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        var nodes: [InstrumentedDatabase] = []
        var services: [any Service] = []
        do {
            for (index, shard) in settings.shardNodes.enumerated() {
                let (node, service) = try await open(shard, index: index, settings: settings, logger: logger)
                nodes.append(node)
                if let service { services.append(service) }
            }
        } catch {
            for node in nodes { await node.close() }
            throw error
        }
        let shards = Shards(nodes: nodes, map: try settings.shardMap(), timeout: settings.databaseShardTimeout)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for service in services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            do {
                for (index, node) in nodes.enumerated() {
                    do {
                        try await Schema.migrator.migrate(node, logger: logger)
                        if let replicated = node.base as? ReplicatedDatabase { try await replicated.requireReplicasToCatchUp() }
                    } catch let error as DatabaseError where error != .acquireTimeout && error.isUnavailable && nodes.count > 1 {
                        // One shard down must not keep every instance down: the others serve,
                        // and readiness checks this shard's schema once it answers. A shard
                        // that is only slow is not skipped: its schema must be migrated.
                        logger.error(
                            "a shard is unreachable at start; requests that need it fail until it is back",
                            metadata: ["db.shard": "\(index)", "error": "\(error)"]
                        )
                    }
                }
                let result = try await body(shards)
                await shards.close()
                return result
            } catch {
                await shards.close()
                throw error
            }
        }
    }

    /// One physical shard: a SQLite file, a PostgreSQL server, or a primary with replicas.
    private static func open(
        _ shard: ShardNode, index: Int, settings: FleetSettings, logger: Logger
    ) async throws -> (InstrumentedDatabase, (any Service)?) {
        func postgres(_ url: String) throws -> PostgresDatabase {
            var configuration = try PostgresDatabase.Configuration(url: url)
            configuration.minimumConnections = settings.databasePoolMin
            configuration.maximumConnections = settings.databasePoolMax
            configuration.acquireTimeout = settings.databaseAcquireTimeout
            configuration.connectTimeout = settings.databaseConnectTimeout
            configuration.idleTimeout = settings.databasePoolIdleTimeout
            configuration.shard = index
            return PostgresDatabase(configuration, logger: logger)
        }
        if let url = shard.url, !url.hasPrefix("sqlite:") {
            let primary = try postgres(url)
            guard !shard.replicaURLs.isEmpty else { return (InstrumentedDatabase(primary, system: "postgresql", shard: index), primary) }
            var configuration = ReplicatedDatabase.Configuration()
            configuration.maxLag = settings.databaseReplicaMaxLag
            configuration.shard = index
            let replicated = ReplicatedDatabase(
                primary: primary, replicas: try shard.replicaURLs.map(postgres), configuration: configuration, logger: logger
            )
            return (InstrumentedDatabase(replicated, system: "postgresql", shard: index), replicated)
        }
        let path = shard.url.map { String($0.dropFirst("sqlite:".count)) } ?? settings.databasePath
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        let sqlite = try await SQLiteDatabase.open(
            .init(path: path, readers: settings.databaseReaders, acquireTimeout: settings.databaseAcquireTimeout, synchronous: settings.databaseSynchronous),
            logger: logger
        )
        return (InstrumentedDatabase(sqlite, system: "sqlite", shard: index), nil)
    }

    /// Redis, when `redis.url` is set: the client and the cache bus run while `body`
    /// does. Start-up waits briefly for a connection but never depends on one: without
    /// Redis the caches work from L1 and the rate limiter locally.
    public static func withRedis<Result: Sendable>(
        _ settings: FleetSettings, logger: Logger, _ body: (RedisServices?) async throws -> Result
    ) async throws -> Result {
        guard let url = settings.redisURL else { return try await body(nil) }
        var configuration = try RedisConfiguration(url: url)
        configuration.connections = settings.redisConnections
        configuration.commandTimeout = settings.redisTimeout
        configuration.connectTimeout = settings.redisTimeout
        let client = RedisClient(configuration, logger: logger)
        let bus = CacheBus(redis: client, configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            group.addTask { try await bus.run() }
            defer { group.cancelAll() }
            do {
                try await client.waitUntilConnected(timeout: .seconds(2))
            } catch {
                logger.warning("Redis is not reachable yet; starting without it and reconnecting in the background")
            }
            return try await body(RedisServices(client: client, bus: bus))
        }
    }

    /// The services over a database (and Redis, if any), with the token secret resolved.
    public static func services(
        _ settings: FleetSettings, database: Shards, redis: RedisServices? = nil, passwords: (any PasswordHasher)? = nil,
        logger: Logger
    ) async throws -> ConduitServices {
        let secret = try settings.jwtSecret ?? loadOrCreateSecret(in: settings.dataDirectory, logger: logger)
        var policy = CachePolicy(ttl: settings.cacheTTL, maxEntries: settings.cacheEntries, maxBytes: settings.cacheBytes)
        policy.enabled = settings.cacheEnabled
        return ConduitServices(
            shards: database,
            ids: FleetIDGenerator(),
            passwords: passwords ?? BcryptPasswordHasher(cost: settings.bcryptCost),
            tokens: await TokenService(secret: secret, lifetime: settings.jwtTTL),
            caches: ConduitCaches(policy: policy, bus: redis?.bus, logger: logger),
            logger: logger
        )
    }

    /// The full router: operational routes, then the API behind its middleware.
    public static func router(
        services: ConduitServices,
        settings: FleetSettings,
        health: HealthChecks,
        metrics: PrometheusCollectorRegistry,
        redis: RedisServices? = nil
    ) -> Router<ConduitContext> {
        let router = Router(context: ConduitContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: MetricsMiddleware())
        if settings.accessLog { router.add(middleware: LogRequestsMiddleware(.info)) }
        router.add(middleware: ErrorMiddleware())
        router.add(
            middleware: CORSMiddleware(
                allowOrigin: .all,
                allowHeaders: [.contentType, .authorization, .init("X-Request-ID")!],
                allowMethods: [.get, .post, .put, .delete, .options],
                maxAge: .seconds(3600)
            )
        )
        router.add(middleware: BodyLimitMiddleware(maxBytes: settings.bodyLimitBytes))
        OperationalRoutes.add(to: router, health: health, metrics: metrics)
        let api = router.group("api")
            .add(middleware: CacheStatusMiddleware())
            .add(middleware: AuthenticationMiddleware(tokens: services.tokens))
        if settings.shardNodes.contains(where: { !$0.replicaURLs.isEmpty }) {
            // Positions live for the lag bound and a margin: then every replica in use has them.
            let lifetime = settings.databaseReplicaMaxLag + .seconds(1)
            let positions: any WritePositions = redis.map { RedisWritePositions(redis: $0.client, lifetime: lifetime, logger: services.logger) }
                ?? LocalWritePositions(lifetime: lifetime)
            api.add(middleware: ReadYourWritesMiddleware(positions: positions, addresses: ClientAddressResolver(trustedProxies: settings.trustedProxies)))
        }
        if settings.rateLimitEnabled {
            let limits = RateLimits(settings: settings)
            let limiter: any RateLimiter = redis.map { RedisRateLimiter(redis: $0.client, logger: services.logger) } ?? LocalRateLimiter()
            api.add(middleware: RateLimitMiddleware(limiter: limiter) { request, context in limits.rule(for: request, context: context) })
        }
        ConduitRoutes(services: services).add(to: api)
        return router
    }

    /// Readiness checks for the databases: some shard answers (a shard that is down fails
    /// only the requests that need it, so it must not take every instance out of the load
    /// balancer), and no shard that answers has a schema older than this build expects.
    public static func registerHealthChecks(_ health: HealthChecks, database shards: Shards) {
        health.register("database") {
            for node in shards.nodes where await node.ping() { return true }
            return false
        }
        let current = CurrentShards()
        health.register("schema") {
            for (index, node) in shards.nodes.enumerated() where !current.seen.withLock({ $0.contains(index) }) {
                // A shard that does not answer is the "database" check's business.
                guard let version = try? await Schema.migrator.currentVersion(node) else { continue }
                guard version >= Schema.migrator.latestVersion else { return false }
                current.seen.withLock { _ = $0.insert(index) }
            }
            return true
        }
    }

    /// The embedded default's token secret: generated once, kept in the data folder
    /// (mode 0600) so tokens survive restarts. Never logged.
    static func loadOrCreateSecret(in directory: String, logger: Logger) throws -> String {
        let path = directory + "/jwt-secret"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingWhitespace(), existing.utf8.count >= 32 {
            logger.info("using the JWT secret stored in the data folder", metadata: ["path": "\(path)"])
            return existing
        }
        let secret = TokenService.generateSecret()
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SettingsError("cannot write \(path)")
        }
        logger.notice(
            "no auth.jwt.secret configured: generated a random one and stored it in the data folder; set FLEET_AUTH_JWT_SECRET to share one across instances",
            metadata: ["path": "\(path)"]
        )
        return secret
    }
}

/// The shards seen with the current schema (a schema never goes back).
private final class CurrentShards: Sendable {
    let seen = Mutex(Set<Int>())
}
