public import FleetData
public import FleetJobs
import FleetCache
import FleetHTTP
public import FleetObservability
import FleetRateLimit
import FleetResilience
public import Hummingbird
public import Logging
public import Prometheus
public import ServiceLifecycle

/// The composition root: Fleet's one wiring of settings into a running application,
/// used by `fleet serve` and by the tests alike.
///
/// Every long-lived part is a `Service` of the API application, started in this order and
/// stopped in the reverse one, so that nothing stops while something above it still
/// needs it:
///
/// 1. `Databases`: every shard (PostgreSQL pools, replica tracking); closed last.
/// 2. Redis: the client, then the cache bus (invalidations) over it.
/// 3. The job worker (`jobs.workers`), once migrations have run: it stops before the
///    databases, after draining its running jobs. Beside it, `KeyedWriteRetention`.
/// 4. The admin listener (`/metrics`, operator actions), on `http.admin.host:port`.
/// 5. The API server, on `http.host:port`. Before it accepts a connection, migrations run
///    on every shard and Redis gets a moment to connect.
///
/// In the worker role (`fleet worker`) there is no API server: the admin listener runs
/// the rest, and serves `/health/*` beside `/metrics`. In the recommender role
/// (`fleet recommender`) the recommender's own listener takes the admin listener's place.
///
/// The API role also runs the recommender's client (`recommender.url`, see
/// `RecommenderClient`), which shuts its HTTP client down after the server has stopped.
///
/// `run()` adds `DrainOnShutdown` in front: on SIGTERM readiness fails first, then the API
/// server stops accepting, finishes what is in flight, and the rest stops in turn.
public struct FleetApplication: Sendable {
    public let settings: FleetSettings
    public let services: ConduitServices
    public let databases: Databases
    public let redis: RedisServices?
    public let health: HealthChecks
    /// The API: the Conduit routes and `/health/*`. Runs every other part as its services.
    public let api: Application<RouterResponder<ConduitContext>>
    /// The admin listener: `/metrics` and what operators do (also one of `api`'s services).
    public let admin: Application<RouterResponder<BasicRequestContext>>
    /// Runs the jobs of this process's queues, if it has any.
    public let worker: JobWorker?
    /// What the ops page (`/ops` on the admin listener) shows; nil in the recommender role.
    public let ops: OpsBoard?
    public let role: FleetRole

    /// - Parameters:
    ///   - metrics: the registry `/metrics` renders (the one `Observability.bootstrap` made).
    ///   - passwords: a hasher other than bcrypt at `auth.bcrypt.cost` (the seeder's).
    ///   - shared: databases another application in this process opened and runs (tests
    ///     of two instances over one SQLite file); they are not among this one's services.
    public static func build(
        _ settings: FleetSettings, role: FleetRole = .api, logger: Logger, metrics: PrometheusCollectorRegistry,
        passwords: (any PasswordHasher)? = nil, sharing shared: Databases? = nil
    ) async throws -> FleetApplication {
        let databases = if let shared { shared } else { try await Databases.open(settings, logger: logger) }
        let breakers = databases.breakers
        let redis = try RedisServices.make(settings, breakers: breakers, logger: logger)
        let services = try await ConduitServices.make(
            settings, shards: databases.shards, redis: redis, passwords: passwords, logger: logger, breakers: breakers
        )
        let health = HealthChecks(maxAge: settings.readinessCacheTTL)
        registerHealthChecks(health, shards: databases.shards, breakers: breakers)

        let worker = try makeWorker(settings, role: role, services: services, databases: databases, logger: logger)
        let recorder = role == .api ? RouteRecorder() : nil
        let limiter = role == .api ? settings.shedding.map { AdaptiveLimiter(name: "api", policy: $0, queue: settings.sheddingQueue) } : nil
        let ops = role == .recommender
            ? nil
            : OpsBoard(
                role: role, settings: settings, services: services, breakers: breakers, redis: redis, recorder: recorder, limiter: limiter, logger: logger
            )
        var admin = Application(
            router: adminRouter(services: services, metrics: metrics, health: role == .worker ? health : nil, breakers: breakers, ops: ops),
            configuration: .init(address: .hostname(settings.adminHost, port: settings.adminPort), serverName: "fleet-admin"),
            onServerRunning: { channel in
                logger.notice("admin listener is up", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            },
            logger: logger
        )
        // The recommender role serves on a listener of its own instead (`recommender.port`).
        if role == .recommender { admin = recommenderServer(settings, services: services, metrics: metrics, health: health, logger: logger) }
        var parts: [any Service] = shared == nil ? [databases] : []
        if let redis { parts += [redis.client, redis.bus] }
        if let ops { parts.append(ops) }
        if let worker {
            parts.append(AfterMigrations(migrated: databases.migrated, service: worker))
            parts.append(AfterMigrations(migrated: databases.migrated, service: KeyedWriteRetention(shards: databases.shards, logger: logger)))
        }
        if role == .api, let recommender = services.recommending.client { parts.append(recommender) }
        if role == .api { parts.append(admin) }
        var api = Application(
            router: apiRouter(services: services, settings: settings, health: health, redis: redis, recorder: recorder, limiter: limiter),
            server: .http1(timeouts: settings.connectionTimeouts),
            configuration: .serving(
                .hostname(settings.httpHost, port: settings.httpPort), serverName: "fleet", maxConnections: settings.maxConnections, logger: logger
            ),
            services: role == .api ? parts : [],
            onServerRunning: { channel in
                logger.notice(
                    "fleet is serving",
                    metadata: [
                        "address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "database": "\(databases.shards.dialect)",
                        "shards": "\(databases.shards.nodes.count)", "redis": "\(redis == nil ? "off" : "on")",
                    ]
                )
            },
            logger: logger
        )
        let prepare: @Sendable () async throws -> Void = {
            try await databases.migrate()
            if let redis {
                do {
                    try await redis.client.waitUntilConnected(timeout: .seconds(2))
                } catch {
                    logger.warning("Redis is not reachable yet; starting without it and reconnecting in the background")
                }
            }
        }
        switch role {
        case .api: api.beforeServerStarts(perform: prepare)
        case .worker, .recommender:
            admin.addServices(parts)
            admin.beforeServerStarts(perform: prepare)
        }
        return FleetApplication(
            settings: settings, services: services, databases: databases, redis: redis, health: health, api: api, admin: admin,
            worker: worker, ops: ops, role: role
        )
    }

    /// The job worker for the queues the settings name (`jobs.workers`), or nil for none.
    static func makeWorker(
        _ settings: FleetSettings, role: FleetRole, services: ConduitServices, databases: Databases, logger: Logger
    ) throws -> JobWorker? {
        let queues = settings.jobQueues ?? ConduitJobs.queues
        if let unknown = queues.first(where: { !ConduitJobs.queues.contains($0) }) {
            throw SettingsError("jobs.workers: no queue is named \(unknown) (there are \(ConduitJobs.queues.joined(separator: ", ")))")
        }
        if queues.isEmpty {
            if role == .worker { throw SettingsError("jobs.workers: a worker needs at least one queue") }
            return nil
        }
        var configuration = JobWorkerConfiguration(queues: Dictionary(uniqueKeysWithValues: Set(queues).map { ($0, settings.jobConcurrency) }))
        configuration.lease = settings.jobLease
        configuration.heartbeat = settings.jobLease / 3
        configuration.pollInterval = settings.jobPollInterval
        configuration.grace = settings.jobGrace
        configuration.retention = settings.jobRetention
        configuration.deadRetention = settings.jobDeadRetention
        let worker = JobWorker(databases: databases.shards.nodes, handlers: ConduitJobs.handlers(services), configuration: configuration, logger: logger)
        services.wakeups.subscribe { [weak worker] queue in worker?.notify(queue: queue) }
        return worker
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully (see the type's comment).
    ///
    /// - Parameter outliving: services that must stop after everything else (the span
    ///   exporter, which flushes the spans of the last requests when it stops).
    public func run(outliving: [any Service] = []) async throws {
        var configuration = ServiceGroupConfiguration(
            // A group stops its services in reverse order: the first ones stop last.
            services: outliving.map { .init(service: $0) } + [.init(service: role == .api ? api : admin), .init(service: DrainOnShutdown(health: health, delay: settings.drainDelay))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: api.logger
        )
        // A graceful shutdown is bounded: past the jobs' grace and a margin for in-flight
        // requests, what is still running is cancelled. (Seen a few times after a database
        // restart under a running process: a part that never finished its shutdown kept the
        // process alive until SIGKILL; what does not finish is logged by the group.)
        configuration.maximumGracefulShutdownDuration = settings.drainDelay + settings.jobGrace + .seconds(10)
        configuration.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }
}

/// What a process of the one binary does.
public enum FleetRole: Sendable, Equatable {
    /// The Conduit API, with workers in process for the queues `jobs.workers` names.
    case api
    /// Job workers only (`fleet worker`): health and metrics on the admin listener.
    case worker
    /// The recommender (`fleet recommender`): recommendations, health and metrics on
    /// `recommender.host:port`, and workers for the queues `jobs.workers` names.
    case recommender
}
