public import Logging
import FleetResilience
import FleetSupport
import Metrics
public import ServiceLifecycle
import Synchronization

/// One PostgreSQL shard (a primary and any streaming replicas, a lone server included)
/// behind the one `Database` seam. Which node is the primary is not configured but found: a
/// background loop (`run()`) asks every node each `pollInterval` whether it is in recovery
/// and where its WAL is (`PostgresDatabase.probe`). Transactions go to the node that says
/// it is primary, never to one in recovery; reads go to a healthy replica that is within
/// the lag bound and has replayed everything the current session wrote, else to the
/// primary.
///
/// **Failover.** When the primary fails and a replica is promoted (`pg_ctl promote`, or an
/// operator's tool such as Patroni), the next probe finds the new primary and writes go
/// there, without a restart. Until then writes fail at once with
/// `DatabaseError.unavailable` (503 to clients) while reads continue on replicas. An old
/// primary that comes back as a replica serves reads. Two nodes that both say primary
/// (an old primary back without being rejoined): the one seen promoted most recently
/// takes the writes and the other none.
///
/// **Health** is each node's circuit breaker (`PostgresDatabase.breaker`): calls and
/// probes that fail, or probes past `probeTimeout`, open it; an open node is skipped
/// until trial calls succeed. The probes are what finds a server that stops answering
/// without closing its connections (frozen, hung, cut off): within a few probe timeouts,
/// when an open breaker also abandons the statements waiting on it, instead of at each
/// statement's own timeout. That is why a lone server is one of these too.
///
/// A replica's lag is the age of the newest primary sample it has replayed, so an idle
/// primary does not make a replica look late. Read-your-writes is by WAL position: after a
/// commit the session (`SessionConsistency.current`) is raised to the primary's current
/// position, and the session's reads go only to replicas that have replayed that far.
/// Positions stay comparable across a promotion (the new timeline goes on from the
/// position it was promoted at).
public final class ReplicatedDatabase: Database, Service {
    public struct Configuration: Sendable {
        /// Replicas further behind than this are skipped.
        public var maxLag: Duration = .seconds(2)
        public var pollInterval: Duration = .milliseconds(100)
        /// How long a probe may take before it counts as failed.
        public var probeTimeout: Duration = .seconds(1)
        /// Which physical shard this is: sessions keep a write position per shard, and
        /// metrics name it.
        public var shard: Int = 0

        public init() {}
    }

    /// What a node said it is at its last probe.
    public enum Role: String, Sendable {
        case unknown
        case primary
        case replica
    }

    public var dialect: SQLDialect { .postgres }
    /// Every node of the shard, in configuration order.
    public let nodes: [PostgresDatabase]
    private let configuration: Configuration
    private let logger: Logger
    private let state: Mutex<State>
    private let cursor = Atomic<Int>(0)
    private let primaryReads = Atomic<Int>(0)
    private let replicaReads = Atomic<Int>(0)
    private let primaryReadCounter: Counter
    private let replicaReadCounter: Counter
    private let lagGauges: [Gauge]
    private let primaryGauges: [Gauge]
    /// Opens once a probe round has found a primary, or `startupGrace` after the first
    /// round: until then no node's role is known, and calls wait for it rather than fail
    /// (a start-up's migrations would fail on a primary whose first probe was slow).
    private let probed = Gate(arrivals: 1)
    static let startupGrace: Duration = .seconds(5)

    private struct State {
        var nodes: [Node]
        /// Replicas are used only once they have replayed this far (the schema this
        /// instance migrated to, see `requireReplicasToCatchUp()`).
        var floor: WALPosition?
        /// Recent (time, primary position) samples, oldest first.
        var samples: [(at: ContinuousClock.Instant, position: WALPosition)] = []
        /// Whether any node has answered a probe yet.
        var anyAnswered = false
    }

    private struct Node {
        var role = Role.unknown
        var position: WALPosition?
        var lag: Duration = .seconds(86_400)
        /// When this node was first seen primary after being something else.
        var primarySince: ContinuousClock.Instant?
        /// Probes in a row without an answer, silent or refused by the node's breaker: as
        /// many as trip a node's breaker make its role unknown.
        var unanswered = SilentProbes(threshold: PostgresDatabase.silentProbeLimit)
    }

    /// - Parameter nodes: the shard's nodes; the first is expected to be the primary, but
    ///   roles are probed, so any order works once the first probe has run.
    public init(nodes: [PostgresDatabase], configuration: Configuration = .init(), logger: Logger) {
        precondition(!nodes.isEmpty, "a shard needs a node")
        self.nodes = nodes
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(nodes: nodes.map { _ in Node() }))
        let shard = ("db.shard", String(configuration.shard))
        self.primaryReadCounter = Counter(label: "db.client.reads.total", dimensions: [("db.node", "primary"), shard])
        self.replicaReadCounter = Counter(label: "db.client.reads.total", dimensions: [("db.node", "replica"), shard])
        self.lagGauges = nodes.map { Gauge(label: "db.replica.lag", dimensions: [("db.node", $0.address), shard]) }
        self.primaryGauges = nodes.map { Gauge(label: "db.node.primary", dimensions: [("db.node", $0.address), shard]) }
    }

    public convenience init(primary: PostgresDatabase, replicas: [PostgresDatabase], configuration: Configuration = .init(), logger: Logger) {
        self.init(nodes: [primary] + replicas, configuration: configuration, logger: logger)
    }

    /// Runs every node's pool and the role and lag tracker until cancelled.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for node in nodes { group.addTask { try await node.run() } }
            group.addTask { await self.track() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Reads served so far by the primary and by replicas (for tests and benchmarks).
    public var readsServed: (primary: Int, replicas: Int) {
        (primaryReads.load(ordering: .relaxed), replicaReads.load(ordering: .relaxed))
    }

    /// Each node's address, role at its last probe, breaker phase and lag (a replica's
    /// replay delay; zero for the primary), for the ops page.
    public var topology: [(address: String, role: Role, breaker: String, lag: Duration)] {
        let roles = state.withLock { $0.nodes }
        return zip(nodes, roles).map { ($0.address, $1.role, $0.breaker.phase.rawValue, $1.lag) }
    }

    public func read<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        await probed.wait()
        if let index = chooseReplica(atLeast: await SessionConsistency.current?.required(on: configuration.shard)) {
            do {
                let result = try await nodes[index].read(body)
                countRead(replica: true)
                return result
            } catch let error as DatabaseError where error.isUnavailable {
                // Its breaker has counted it; the primary answers this one.
            }
        }
        guard let primary = writer() else { throw DatabaseError.unavailable("no replica has caught up and there is no primary") }
        let result = try await nodes[primary].read(body)
        countRead(replica: false)
        return result
    }

    public func readLatest<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        await probed.wait()
        if let primary = writer() {
            do {
                let result = try await nodes[primary].read(body)
                countRead(replica: false)
                return result
            } catch let error as DatabaseError where error.isUnavailable && writer() != primary {
                // The primary went down under this read (its breaker opened, as when its
                // probes found it hung): answered below, as a read that finds no primary.
            }
        }
        // No write can commit without a primary: a replica that has replayed the last
        // position the primary reported holds the latest state there is.
        guard let index = fullyCaughtUpReplica() else {
            throw DatabaseError.unavailable("there is no primary and no replica has replayed all it wrote")
        }
        let result = try await nodes[index].read(body)
        countRead(replica: true)
        return result
    }

    public func transaction<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        await probed.wait()
        guard let primary = writer() else { throw DatabaseError.unavailable("no primary; writes are refused until one is back or promoted") }
        let result = try await nodes[primary].transaction(body)
        if let session = SessionConsistency.current {
            // Any position read after the commit is at or past it. The insert position, not
            // the write position: with asynchronous commit the commit record may not be
            // written out yet, and a replica could look caught up without it.
            do {
                session.advance(on: configuration.shard, to: try await currentPosition(of: primary))
            } catch {
                logger.warning("no WAL position after a commit: this session's next reads go to the primary", metadata: ["error": "\(error)"])
                session.advance(on: configuration.shard, to: WALPosition(rawValue: .max))
            }
        }
        return result
    }

    /// Notifications come from the primary, where every write commits; without one this
    /// fails at once and the caller tries again later.
    public func listen(on channel: String, _ onNotification: @escaping @Sendable (String) -> Void) async throws {
        await probed.wait()
        guard let primary = writer() else { throw DatabaseError.unavailable("no primary to listen on") }
        try await nodes[primary].listen(on: channel, onNotification)
    }

    /// Ready while any node answers: reads can still be served.
    public func ping() async -> Bool {
        for node in nodes where await node.probe(timeout: configuration.probeTimeout) != nil { return true }
        return false
    }

    public func close() async {
        for node in nodes { await node.close() }
    }

    /// Makes every read wait for replicas to replay what is committed now; called after
    /// migrations, so that no read reaches a replica that does not have the schema yet.
    public func requireReplicasToCatchUp() async throws {
        await probed.wait()
        guard let primary = writer() else { throw DatabaseError.unavailable("no primary") }
        let position = try await currentPosition(of: primary)
        state.withLock { $0.floor = max($0.floor ?? position, position) }
    }

    // MARK: - Routing

    /// The node that takes writes: one that said it is primary at its last probe and
    /// whose breaker lets calls through; of two, the one promoted most recently.
    private func writer() -> Int? {
        let (candidates, anyAnswered) = state.withLock { state in
            (state.nodes.indices.filter { state.nodes[$0].role == .primary }.map { ($0, state.nodes[$0].primarySince) }, state.anyAnswered)
        }
        // Until some node has answered a probe (a start-up on a busy machine), the first
        // configured node is taken at its word; a write that reaches a node in recovery
        // fails with 503 all the same.
        if !anyAnswered { return nodes[0].breaker.refusesCalls ? nil : 0 }
        let usable = candidates.filter { !nodes[$0.0].breaker.refusesCalls }
        guard usable.count > 1 else { return usable.first?.0 }
        let newest = usable.max { ($0.1 ?? .now) < ($1.1 ?? .now) }
        return newest?.0
    }

    private func chooseReplica(atLeast required: WALPosition?) -> Int? {
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        let candidates: [Int] = state.withLock { state in
            (0..<nodes.count).map { (start &+ $0) % nodes.count }.filter { index in
                let node = state.nodes[index]
                guard node.role == .replica, node.lag <= configuration.maxLag, let replayed = node.position else { return false }
                if let required, replayed < required { return false }
                if let floor = state.floor, replayed < floor { return false }
                return true
            }
        }
        return candidates.first { !nodes[$0].breaker.refusesCalls }
    }

    private func fullyCaughtUpReplica() -> Int? {
        let candidates: [Int] = state.withLock { state in
            guard let last = state.samples.last?.position else { return [] }
            return state.nodes.indices.filter { state.nodes[$0].role == .replica && (state.nodes[$0].position ?? .init(rawValue: 0)) >= last }
        }
        return candidates.first { !nodes[$0].breaker.refusesCalls }
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

    private func currentPosition(of index: Int) async throws -> WALPosition {
        try await nodes[index].read { db in
            guard let text = try await db.first("SELECT pg_current_wal_insert_lsn()::text")?.decode(at: 0, as: String.self),
                let position = WALPosition(text)
            else { throw DatabaseError.failed("pg_current_wal_insert_lsn() returned nothing") }
            return position
        }
    }

    /// Probes every node at once each round, so that a node that does not answer costs
    /// one probe timeout per round, not one per node.
    private func track() async {
        let started = ContinuousClock.now
        while !Task.isCancelled {
            let answers = await withTaskGroup(of: (Int, (inRecovery: Bool, position: WALPosition)?).self) { group in
                for (index, node) in nodes.enumerated() {
                    group.addTask { (index, await node.probe(timeout: self.configuration.probeTimeout)) }
                }
                var answers = [(inRecovery: Bool, position: WALPosition)?](repeating: nil, count: nodes.count)
                for await (index, answer) in group { answers[index] = answer }
                return answers
            }
            record(answers, at: ContinuousClock.now)
            if !probed.isOpen, answers.contains(where: { $0?.inRecovery == false }) || ContinuousClock.now - started >= Self.startupGrace {
                probed.arrive()
            }
            try? await Task.sleep(for: configuration.pollInterval)
        }
    }

    private func record(_ answers: [(inRecovery: Bool, position: WALPosition)?], at now: ContinuousClock.Instant) {
        let changes: [String] = state.withLock { state in
            var changes: [String] = []
            for (index, answer) in answers.enumerated() {
                // One probe that did not answer in time (a busy machine) keeps the role a node
                // had; three in a row make it unknown. A node that is really down is refused
                // sooner by its breaker, which its failing calls and probes open.
                let gone = state.nodes[index].unanswered.record(answered: answer != nil)
                let role: Role = answer.map { $0.inRecovery ? .replica : .primary } ?? (gone ? .unknown : state.nodes[index].role)
                if role != state.nodes[index].role {
                    changes.append("\(nodes[index].address) is \(role == .unknown ? "not answering" : role.rawValue)")
                    state.nodes[index].primarySince = role == .primary ? now : nil
                }
                state.nodes[index].role = role
                if let answer {
                    state.nodes[index].position = answer.position
                    state.anyAnswered = true
                }
            }
            // The primary's position is the clock replicas' lags are read against.
            let primaries = state.nodes.filter { $0.role == .primary }
            if primaries.count > 1 { changes.append("\(primaries.count) nodes say they are primary; writes go to the one promoted last") }
            if let newest = primaries.max(by: { ($0.primarySince ?? now) < ($1.primarySince ?? now) }), let position = newest.position {
                state.samples.append((now, position))
                // Keep enough history to measure lags a little past the bound.
                let horizon = now - configuration.maxLag * 4
                if let keep = state.samples.firstIndex(where: { $0.at >= horizon }), keep > 0 { state.samples.removeFirst(keep) }
            }
            for index in state.nodes.indices {
                let wasUsable = state.nodes[index].role == .replica && state.nodes[index].lag <= configuration.maxLag
                guard state.nodes[index].role == .replica, let replayed = state.nodes[index].position else {
                    state.nodes[index].lag = state.nodes[index].role == .primary ? .zero : .seconds(86_400)
                    continue
                }
                // The newest primary sample this replica has replayed tells how far behind it is.
                if let newest = state.samples.last, replayed >= newest.position {
                    state.nodes[index].lag = .zero
                } else if let caughtUp = state.samples.last(where: { $0.position <= replayed }) {
                    state.nodes[index].lag = now - caughtUp.at
                } else {
                    // Behind every sample kept (or none taken yet, at start-up): how far is
                    // unknown, so it is not used until it has replayed one.
                    state.nodes[index].lag = .seconds(86_400)
                }
                let usable = state.nodes[index].lag <= configuration.maxLag
                if usable != wasUsable, wasUsable {
                    changes.append("\(nodes[index].address) skipped (lag \(state.nodes[index].lag))")
                }
            }
            return changes
        }
        for change in changes { logger.notice("database topology: shard \(configuration.shard): \(change)") }
        let current = state.withLock { $0.nodes }
        for (index, node) in current.enumerated() {
            lagGauges[index].record(node.role == .replica ? node.lag.inSeconds : 0)
            primaryGauges[index].record(node.role == .primary ? 1 : 0)
        }
    }
}
