public import FleetData
public import FleetResilience
import FleetSupport
import Foundation
public import Logging
public import ServiceLifecycle

/// Every physical shard the settings name, opened: the embedded SQLite file, or
/// PostgreSQL (`database.url`) with its replicas, and `database.shard.<n>.url` beside it.
///
/// It is a `Service`: what runs beside the databases (PostgreSQL's pools, replica
/// tracking, the time-outs of SQLite's connection waits) runs while `run()` does; on
/// graceful shutdown it stops and the databases close. It comes first in the
/// application's services, so it stops last.
public struct Databases: Service {
    public let shards: Shards
    /// The breakers of every PostgreSQL node (one per node, by name).
    public let breakers: CircuitBreakers
    let background: [any Service]
    let logger: Logger
    /// Opens once every background service has been started: PostgreSQL's pools take
    /// leases only once they run.
    private let running: Gate
    /// Opens once `migrate()` has run: what needs the current schema (the job workers)
    /// waits for it.
    let migrated = Gate(arrivals: 1)

    /// Opens every shard (connections to PostgreSQL are made by the pools once they run).
    /// - Parameter breakers: where each node's circuit breaker is registered (the
    ///   application's registry, so that readiness lists them beside the others).
    public static func open(_ settings: FleetSettings, breakers: CircuitBreakers? = nil, logger: Logger) async throws -> Databases {
        let breakers = breakers ?? CircuitBreakers(logger: logger)
        // The data folder holds the generated token secret on every topology.
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        var nodes: [InstrumentedDatabase] = []
        var background: [any Service] = []
        do {
            for (index, shard) in settings.shardNodes.enumerated() {
                let (node, service) = try await open(shard, index: index, settings: settings, breakers: breakers, logger: logger)
                nodes.append(node)
                if let service { background.append(service) }
            }
        } catch {
            for node in nodes { await node.close() }
            throw error
        }
        let shards = Shards(nodes: nodes, map: try settings.shardMap(), timeout: settings.databaseShardTimeout)
        return Databases(shards: shards, breakers: breakers, background: background, logger: logger)
    }

    private init(shards: Shards, breakers: CircuitBreakers, background: [any Service], logger: Logger) {
        self.shards = shards
        self.breakers = breakers
        self.background = background
        self.logger = logger
        self.running = Gate(arrivals: background.count)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for service in background {
                group.addTask {
                    running.arrive()
                    do {
                        try await service.run()
                    } catch {
                        logger.error("database pool stopped", metadata: ["error": "\(error)"])
                    }
                }
            }
            // Up until shutdown, whatever the background does.
            group.addTask { try? await gracefulShutdown() }
        }
        await shards.close()
    }

    /// Applies migrations on every shard's primary. A shard that cannot be reached is
    /// skipped when there are others: one shard down must not keep every instance down
    /// (the others serve, and readiness checks its schema once it answers). A shard that
    /// is only slow to hand out a connection is not skipped: its schema must be current.
    public func migrate() async throws {
        await running.wait()
        for (index, node) in shards.nodes.enumerated() {
            do {
                try await Schema.migrator.migrate(node, logger: logger)
                if let replicated = node.base as? ReplicatedDatabase { try await replicated.requireReplicasToCatchUp() }
            } catch let error as DatabaseError where error.code == .unavailable && shards.nodes.count > 1 {
                logger.error(
                    "a shard is unreachable at start; requests that need it fail until it is back",
                    metadata: ["db.shard": "\(index)", "error": "\(error)"]
                )
            }
        }
        migrated.arrive()
    }

    /// For tools (`fleet migrate`, `seed`, `shard-move`): opens and migrates the
    /// databases, runs `body`, then stops them.
    public static func with<Result: Sendable>(
        _ settings: FleetSettings, logger: Logger, _ body: (Shards) async throws -> Result
    ) async throws -> Result {
        let databases = try await open(settings, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await databases.run() }
            defer { group.cancelAll() }
            try await databases.migrate()
            return try await body(databases.shards)
        }
    }

    /// One physical shard: a SQLite file, a PostgreSQL server, or a primary with replicas.
    private static func open(
        _ shard: ShardNode, index: Int, settings: FleetSettings, breakers: CircuitBreakers, logger: Logger
    ) async throws -> (InstrumentedDatabase, (any Service)?) {
        func postgres(_ url: String) throws -> PostgresDatabase {
            var configuration = try PostgresDatabase.Configuration(url: url)
            configuration.minimumConnections = settings.databasePoolMin
            configuration.maximumConnections = settings.databasePoolMax
            configuration.acquireTimeout = settings.databaseAcquireTimeout
            configuration.connectTimeout = settings.databaseConnectTimeout
            configuration.statementTimeout = settings.databaseStatementTimeout
            configuration.idleTimeout = settings.databasePoolIdleTimeout
            configuration.shard = index
            configuration.breakers = breakers
            return PostgresDatabase(configuration, logger: logger)
        }
        if let url = shard.url, !url.hasPrefix("sqlite:") {
            // A lone server too: its probes find a server that stops answering (hung,
            // frozen, cut off without a reset) within seconds, where its statements alone
            // would wait for their timeout; and they keep writes off a server in recovery.
            let primary = try postgres(url)
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
        return (InstrumentedDatabase(sqlite, system: "sqlite", shard: index), sqlite)
    }
}
