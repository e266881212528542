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

/// Redis as the app uses it: one client, and the cache bus over it.
public struct RedisServices: Sendable {
    public let client: RedisClient
    public let bus: CacheBus
}

/// Builds the Conduit application from settings: storage, services and the router.
/// The executable runs what this returns; tests build the same thing in-process.
public enum ConduitApplication {
    /// Opens the database the settings select (PostgreSQL when `database.url` is set, else
    /// the embedded SQLite file), runs what it needs beside it (PostgreSQL's pool), applies
    /// migrations, and hands it to `body`. Everything stops when `body` returns.
    public static func withDatabase<Result: Sendable>(
        _ settings: FleetSettings, logger: Logger,
        _ body: (InstrumentedDatabase) async throws -> Result
    ) async throws -> Result {
        // The data folder holds the generated token secret on every topology.
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        let database: InstrumentedDatabase
        let service: (any Service)?
        if let url = settings.databaseURL {
            func node(_ url: String) throws -> PostgresDatabase {
                var configuration = try PostgresDatabase.Configuration(url: url)
                configuration.minimumConnections = settings.databasePoolMin
                configuration.maximumConnections = settings.databasePoolMax
                configuration.acquireTimeout = settings.databaseAcquireTimeout
                return PostgresDatabase(configuration, logger: logger)
            }
            let primary = try node(url)
            if settings.databaseReplicaURLs.isEmpty {
                database = InstrumentedDatabase(primary, system: "postgresql")
                service = primary
            } else {
                var configuration = ReplicatedDatabase.Configuration()
                configuration.maxLag = settings.databaseReplicaMaxLag
                let replicated = ReplicatedDatabase(
                    primary: primary, replicas: try settings.databaseReplicaURLs.map(node), configuration: configuration, logger: logger
                )
                database = InstrumentedDatabase(replicated, system: "postgresql")
                service = replicated
            }
        } else {
            let parent = (settings.databasePath as NSString).deletingLastPathComponent
            if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            let sqlite = try await SQLiteDatabase.open(
                .init(
                    path: settings.databasePath, readers: settings.databaseReaders,
                    acquireTimeout: settings.databaseAcquireTimeout, synchronous: settings.databaseSynchronous
                ),
                logger: logger
            )
            database = InstrumentedDatabase(sqlite, system: "sqlite")
            service = nil
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            if let service { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            do {
                try await Schema.migrator.migrate(database, logger: logger)
                if let replicated = database.base as? ReplicatedDatabase { try await replicated.requireReplicasToCatchUp() }
                let result = try await body(database)
                await database.close()
                return result
            } catch {
                await database.close()
                throw error
            }
        }
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
        _ settings: FleetSettings, database: any Database, redis: RedisServices? = nil, passwords: (any PasswordHasher)? = nil,
        logger: Logger
    ) async throws -> ConduitServices {
        let secret = try settings.jwtSecret ?? loadOrCreateSecret(in: settings.dataDirectory, logger: logger)
        var policy = CachePolicy(ttl: settings.cacheTTL, maxEntries: settings.cacheEntries, maxBytes: settings.cacheBytes)
        policy.enabled = settings.cacheEnabled
        return ConduitServices(
            database: database,
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
        if !settings.databaseReplicaURLs.isEmpty {
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

    /// Readiness checks for the database: reachable, schema current.
    public static func registerHealthChecks(_ health: HealthChecks, database: any Database) {
        health.register("database") { await database.ping() }
        health.register("schema") { await Schema.migrator.isCurrent(database) }
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
