public import Logging
import FleetSupport
import Metrics
public import ServiceLifecycle
import Synchronization

/// A PostgreSQL primary and its streaming replicas behind the one `Database` seam:
/// transactions go to the primary; reads go to a healthy replica that is within the lag
/// bound and has replayed everything the current session wrote, else to the primary.
///
/// A background loop (`run()`) samples the primary's WAL position and each replica's replay
/// position every `pollInterval`. A replica's lag is the age of the newest primary sample
/// it has replayed, so an idle primary does not make a replica look late. A replica that
/// does not answer, is not in recovery, or lags past `maxLag` is skipped until it is back.
///
/// Read-your-writes is by WAL position, not by waiting: after a commit the session
/// (`SessionConsistency.current`) is raised to the primary's current position, and the
/// session's reads only go to replicas that have replayed at least that far. Other
/// sessions keep using replicas.
///
/// When the primary is down (`primaryDownAfter` probes in a row failed: one slow probe is
/// not an outage), transactions fail at once with `DatabaseError.unavailable`
/// (503 to clients) while reads continue on replicas; with no writes possible, a caught-up
/// replica is also the latest state, so `readLatest` uses one too.
public final class ReplicatedDatabase: Database, Service {
    public struct Configuration: Sendable {
        /// Replicas further behind than this are skipped.
        public var maxLag: Duration = .seconds(2)
        public var pollInterval: Duration = .milliseconds(100)
        /// How long a probe may take before it counts as failed.
        public var probeTimeout: Duration = .seconds(1)
        /// Failed probes of the primary in a row before it counts as down (writes refused).
        public var primaryDownAfter: Int = 3
        /// Which physical shard this is: sessions keep a write position per shard, and
        /// metrics name it.
        public var shard: Int = 0

        public init() {}
    }

    public var dialect: SQLDialect { .postgres }
    private let primary: PostgresDatabase
    private let replicas: [PostgresDatabase]
    private let configuration: Configuration
    private let logger: Logger
    private let state: Mutex<State>
    private let cursor = Atomic<Int>(0)
    private let primaryReads = Atomic<Int>(0)
    private let replicaReads = Atomic<Int>(0)
    private let primaryReadCounter: Counter
    private let replicaReadCounter: Counter
    private let lagGauges: [Gauge]

    private struct State {
        var primary: ProbeHealth
        /// Replicas are used only once they have replayed this far (the schema this
        /// instance migrated to, see `requireReplicasToCatchUp()`).
        var floor: WALPosition?
        /// Recent (time, primary position) samples, oldest first.
        var samples: [(at: ContinuousClock.Instant, position: WALPosition)] = []
        var replicas: [Replica]
    }

    private struct Replica {
        var up = false
        var replayed: WALPosition?
        var lag: Duration = .seconds(3600)
    }

    public init(primary: PostgresDatabase, replicas: [PostgresDatabase], configuration: Configuration = .init(), logger: Logger) {
        self.primary = primary
        self.replicas = replicas
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(primary: ProbeHealth(threshold: configuration.primaryDownAfter), replicas: replicas.map { _ in Replica() }))
        let shard = ("db.shard", String(configuration.shard))
        self.primaryReadCounter = Counter(label: "db.client.reads.total", dimensions: [("db.node", "primary"), shard])
        self.replicaReadCounter = Counter(label: "db.client.reads.total", dimensions: [("db.node", "replica"), shard])
        self.lagGauges = replicas.indices.map { Gauge(label: "db.replica.lag", dimensions: [("db.node", "replica\($0)"), shard]) }
    }

    /// Runs every node's pool and the health and lag tracker until cancelled.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.primary.run() }
            for replica in replicas { group.addTask { try await replica.run() } }
            group.addTask { await self.track() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Reads served so far by the primary and by replicas (for tests and benchmarks).
    public var readsServed: (primary: Int, replicas: Int) {
        (primaryReads.load(ordering: .relaxed), replicaReads.load(ordering: .relaxed))
    }

    public func read<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        if let index = chooseReplica(atLeast: await SessionConsistency.current?.required(on: configuration.shard)) {
            do {
                let result = try await replicas[index].read(body)
                countRead(replica: true)
                return result
            } catch let error as DatabaseError where error.isUnavailable {
                markReplicaDown(index)
            }
        }
        guard isPrimaryUp else { throw DatabaseError.unavailable("no replica has caught up and the primary is down") }
        let result = try await primary.read(body)
        countRead(replica: false)
        return result
    }

    public func readLatest<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        // Only the tracker decides that the primary is down: one failed call may be one
        // bad connection, and the primary may still be taking writes.
        if isPrimaryUp {
            let result = try await primary.read(body)
            countRead(replica: false)
            return result
        }
        // No write can commit while the primary is down: a replica that has replayed the
        // last position the primary reported holds the latest state there is.
        guard let index = fullyCaughtUpReplica() else {
            throw DatabaseError.unavailable("the primary is down and no replica has replayed all it wrote")
        }
        let result = try await replicas[index].read(body)
        countRead(replica: true)
        return result
    }

    public func transaction<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        guard isPrimaryUp else { throw DatabaseError.unavailable("the primary is down; writes are refused until it is back") }
        let result = try await primary.transaction(body)
        if let session = SessionConsistency.current {
            // Any position read after the commit is at or past it. The insert position, not
            // the write position: with asynchronous commit the commit record may not be
            // written out yet, and a replica could look caught up without it.
            do {
                session.advance(on: configuration.shard, to: try await currentPosition())
            } catch {
                logger.warning("no WAL position after a commit: this session's next reads go to the primary", metadata: ["error": "\(error)"])
                session.advance(on: configuration.shard, to: WALPosition(rawValue: .max))
            }
        }
        return result
    }

    /// Ready while the primary or any replica answers: reads can still be served.
    /// Notifications come from the primary, where every write commits.
    public func listen(on channel: String, _ onNotification: @escaping @Sendable (String) -> Void) async throws {
        try await primary.listen(on: channel, onNotification)
    }

    public func ping() async -> Bool {
        for node in [primary] + replicas {
            if (try? await withTimeout(configuration.probeTimeout, { await node.ping() })) == true { return true }
        }
        return false
    }

    public func close() async {
        await primary.close()
        for replica in replicas { await replica.close() }
    }

    /// Makes every read wait for replicas to replay what is committed now; called after
    /// migrations, so that no read reaches a replica that does not have the schema yet.
    public func requireReplicasToCatchUp() async throws {
        let position = try await currentPosition()
        state.withLock { $0.floor = max($0.floor ?? position, position) }
    }

    // MARK: - Routing

    private var isPrimaryUp: Bool { state.withLock { $0.primary.isUp } }

    private func chooseReplica(atLeast required: WALPosition?) -> Int? {
        guard !replicas.isEmpty else { return nil }
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        return state.withLock { state in
            for offset in 0..<replicas.count {
                let index = (start &+ offset) % replicas.count
                let replica = state.replicas[index]
                guard replica.up, replica.lag <= configuration.maxLag, let replayed = replica.replayed else { continue }
                if let required, replayed < required { continue }
                if let floor = state.floor, replayed < floor { continue }
                return index
            }
            return nil
        }
    }

    private func fullyCaughtUpReplica() -> Int? {
        state.withLock { state in
            guard let last = state.samples.last?.position else { return nil }
            return state.replicas.indices.first { state.replicas[$0].up && (state.replicas[$0].replayed ?? .init(rawValue: 0)) >= last }
        }
    }

    private func markReplicaDown(_ index: Int) {
        state.withLock { $0.replicas[index].up = false }
        logger.warning("replica failed a read; skipping it until it answers again", metadata: ["db.node": "replica\(index)", "db.shard": "\(configuration.shard)"])
    }

    private func countRead(replica: Bool) {
        if replica {
            replicaReads.add(1, ordering: .relaxed)
            replicaReadCounter.increment()
        } else {
            primaryReads.add(1, ordering: .relaxed)
            primaryReadCounter.increment()
        }
    }

    // MARK: - Tracking

    private func currentPosition() async throws -> WALPosition {
        try await primary.read { db in
            guard let text = try await db.first("SELECT pg_current_wal_insert_lsn()::text")?.decode(at: 0, as: String.self),
                let position = WALPosition(text)
            else { throw DatabaseError.failed("pg_current_wal_insert_lsn() returned nothing") }
            return position
        }
    }

    /// Probes every node at once each round, so that a node that does not answer costs
    /// one probe timeout per round, not one per node.
    private func track() async {
        while !Task.isCancelled {
            async let primaryPosition = try? withTimeout(configuration.probeTimeout) { try await self.currentPosition() }
            let replayed = await withTaskGroup(of: (Int, WALPosition?).self) { group in
                for (index, replica) in replicas.enumerated() {
                    group.addTask {
                        let position = try? await withTimeout(self.configuration.probeTimeout) {
                            try await replica.read { db in
                                // NULL when the server is not in recovery, i.e. not a replica at all.
                                try await db.first("SELECT pg_last_wal_replay_lsn()::text")?.decode(at: 0, as: String?.self).flatMap { WALPosition($0) }
                            }
                        }
                        return (index, position ?? nil)
                    }
                }
                var replayed = [WALPosition?](repeating: nil, count: replicas.count)
                for await (index, position) in group { replayed[index] = position }
                return replayed
            }
            record(primary: await primaryPosition, replicas: replayed, at: ContinuousClock.now)
            try? await Task.sleep(for: configuration.pollInterval)
        }
    }

    private func record(primary position: WALPosition?, replicas replayed: [WALPosition?], at now: ContinuousClock.Instant) {
        let changes: [String] = state.withLock { state in
            var changes: [String] = []
            if state.primary.record(success: position != nil) {
                changes.append(state.primary.isUp ? "primary is back" : "primary is down")
            }
            if let position {
                state.samples.append((now, position))
                // Keep enough history to measure lags a little past the bound.
                let horizon = now - configuration.maxLag * 4
                if let keep = state.samples.firstIndex(where: { $0.at >= horizon }), keep > 0 { state.samples.removeFirst(keep) }
            }
            for index in state.replicas.indices {
                let wasUsable = state.replicas[index].up && state.replicas[index].lag <= configuration.maxLag
                guard let replica = replayed[index] else {
                    state.replicas[index].up = false
                    if wasUsable { changes.append("replica\(index) is down") }
                    continue
                }
                state.replicas[index].up = true
                state.replicas[index].replayed = replica
                // The newest primary sample this replica has replayed tells how far behind it is.
                if let newest = state.samples.last, replica >= newest.position {
                    state.replicas[index].lag = .zero
                } else if let caughtUp = state.samples.last(where: { $0.position <= replica }) {
                    state.replicas[index].lag = now - caughtUp.at
                } else {
                    // Behind every sample kept (or none taken yet, at start-up): how far is
                    // unknown, so it is not used until it has replayed one.
                    state.replicas[index].lag = .seconds(86_400)
                }
                let usable = state.replicas[index].lag <= configuration.maxLag
                if usable != wasUsable { changes.append("replica\(index) is \(usable ? "in use" : "skipped (lag \(state.replicas[index].lag))")") }
            }
            return changes
        }
        for change in changes { logger.notice("database topology: shard \(configuration.shard): \(change)") }
        let lags = state.withLock { $0.replicas.map(\.lag) }
        for (gauge, lag) in zip(lagGauges, lags) {
            gauge.record(lag.inSeconds)
        }
    }
}
