public import Logging
import Metrics
import NIOCore
import Synchronization
import PostgresNIO
import FleetSupport
public import FleetResilience
public import ServiceLifecycle

/// A PostgreSQL database through postgres-nio's `PostgresClient`, which pools connections.
///
/// It is a `Service`: its pool runs while `run()` does, so the owner runs it in its
/// service group (or a task) before the first query.
public final class PostgresDatabase: Database, Service {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        public var minimumConnections: Int = 0
        public var maximumConnections: Int = 20
        public var connectTimeout: Duration = .seconds(10)
        public var idleTimeout: Duration = .seconds(60)
        /// How long a call waits for a pooled connection (all busy, or the server not
        /// reachable) before failing with `DatabaseError.acquireTimeout` (503 to clients).
        public var acquireTimeout: Duration = .seconds(10)
        /// How long a statement may go without an answer before the caller gets
        /// `DatabaseError.unavailable` and the connection is closed.
        public var statementTimeout: Duration = .seconds(10)
        /// The physical shard this pool serves, for its metrics.
        public var shard: Int = 0
        /// The node's circuit breaker: taken from `breakers` by name
        /// (`postgres.shard<n>.<host>:<port>`), with `CircuitBreakerPolicy.frequentlyCalled`.
        public var breakers: CircuitBreakers?

        public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
        }

        /// Reads `postgres://user:password@host:port/database`.
        public init(url: String) throws(DatabaseError) {
            let shape = "must look like postgres://user:password@host:5432/database"
            let parts: ServiceURL
            do {
                parts = try ServiceURL(url)
            } catch {
                throw .configuration("\(error); it \(shape)")
            }
            guard ["postgres", "postgresql"].contains(parts.scheme), !parts.path.isEmpty, let user = parts.user else {
                throw .configuration("the URL \(shape)")
            }
            self.init(host: parts.host, port: parts.port ?? 5432, username: user, password: parts.password, database: parts.path)
        }
    }

    public var dialect: SQLDialect { .postgres }
    private let client: PostgresClient
    private let probeConnection: ProbeConnection
    private let logger: Logger
    private let acquireTimeout: Duration
    private let statementTimeout: Duration
    private let idle: Meter
    private let connections: PoolConnections
    /// Counts this node's failures (unreachable, broken connections, probes past their
    /// timeout) and refuses calls at once while it is open.
    public let breaker: CircuitBreaker
    /// `host:port`, for logs and metrics.
    public let address: String
    /// The most connections the pool opens.
    public let maximumConnections: Int
    /// Retries transactions PostgreSQL aborted (deadlocks, serialization failures).
    private let retrier: Retrier
    /// Probes the node left without an answer (or refused to connect): `silentProbeLimit`
    /// in a row trip the breaker, so the node is taken to be down at once and the
    /// statements waiting on it give up, instead of each at its own timeout.
    private let silentProbes = Mutex(SilentProbes(threshold: PostgresDatabase.silentProbeLimit))

    /// Probes in a row without an answer that mean a node is down: its breaker trips, and
    /// its shard stops trusting the role it last reported (`ReplicatedDatabase`). A busy
    /// moment or two do not.
    static let silentProbeLimit = 3

    public init(_ configuration: Configuration, logger: Logger) {
        var client = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: .disable
        )
        client.options.minimumConnections = configuration.minimumConnections
        client.options.maximumConnections = configuration.maximumConnections
        client.options.connectTimeout = configuration.connectTimeout
        client.options.connectionIdleTimeout = configuration.idleTimeout
        let idle = Meter(
            label: "db.client.connection.count", dimensions: [("db.system", "postgresql"), ("db.shard", String(configuration.shard)), ("state", "idle")]
        )
        let connections = PoolConnections()
        var poolLogger = Logger(label: logger.label) { _ in PoolConnectionEvents(forwardingTo: logger, idle: idle, connections: connections) }
        poolLogger[metadataKey: "db.shard"] = "\(configuration.shard)"
        self.client = PostgresClient(configuration: client, backgroundLogger: poolLogger)
        var probe = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: .disable
        )
        probe.options.connectTimeout = .init(configuration.connectTimeout)
        self.probeConnection = ProbeConnection(probe, logger: logger)
        self.idle = idle
        self.connections = connections
        self.logger = logger
        self.acquireTimeout = configuration.acquireTimeout
        self.statementTimeout = configuration.statementTimeout
        self.address = "\(configuration.host):\(configuration.port)"
        self.maximumConnections = configuration.maximumConnections
        let name = "postgres.shard\(configuration.shard).\(address)"
        self.retrier = Retrier(
            name: name, attempts: 3, backoff: Backoff(first: .milliseconds(1), max: .milliseconds(30)),
            budget: RetryBudget(ratio: 0.2, minimumPerSecond: 5)
        )
        self.breaker = configuration.breakers?.breaker(name, policy: .frequentlyCalled) ?? CircuitBreaker(name: name, policy: .frequentlyCalled, logger: logger)
    }

    /// Connections open or being opened now, as the pool's events tell (for the ops page).
    public var openConnections: Int { max(0, connections.open.load(ordering: .relaxed)) }

    /// Runs the connection pool until cancelled.
    public func run() async throws {
        await client.run()
        probeConnection.shutDown()
    }

    public func read<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await guarded {
            try await withConnection { connection in
                try await body(PostgresExecutor(connection: connection, logger: logger, node: address, statementTimeout: statementTimeout, breaker: breaker))
            }
        }
    }

    /// Runs one call to the node through its breaker, with PostgreSQL's errors translated.
    /// What counts against the node: it cannot be reached or dropped the connection, or
    /// (with `timeout`) did not answer in time. A query error is an answer; a wait for a
    /// connection of our own pool is our queue, not the node's failure.
    /// (`probe` adds a timeout, which counts.)
    private func guarded<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        let permit: CircuitBreakerState.Permit
        do {
            permit = try breaker.acquire()
        } catch {
            throw DatabaseError.unavailable("\(address): circuit breaker open")
        }
        return try await guarded(permit, body)
    }

    private func guarded<Result: Sendable>(_ permit: CircuitBreakerState.Permit, _ body: () async throws -> Result) async throws -> Result {
        let started = ContinuousClock.now
        do {
            let result = try await body()
            breaker.finish(permit, .success, since: started)
            return result
        } catch {
            let translated = (error as? PSQLError).map(PostgresExecutor.translate) ?? error
            let outcome: CircuitBreakerState.Outcome =
                switch translated {
                case let error as DatabaseError where error.code == .unavailable: Task.isCancelled ? .ignored : .failure
                case is CancellationError: .ignored
                default: .success
                }
            breaker.finish(permit, outcome, since: started)
            throw translated
        }
    }

    /// Asks the node whether it is in recovery and where its WAL is: the insert position
    /// of a primary, the replay position of a replica. Nil when it does not answer within
    /// `timeout` (which counts against its breaker) or its breaker is open. On the probes'
    /// own connection (`ProbeConnection`); one left without an answer is closed and replaced.
    /// A run of them without an answer trips the breaker (`silentProbes`).
    public func probe(timeout: Duration) async -> (inRecovery: Bool, position: WALPosition)? {
        // Refused by the breaker: no news of the server.
        guard let permit = try? breaker.acquire() else { return nil }
        do {
            let answer = try await probe(timeout: timeout, permit: permit)
            _ = silentProbes.withLock { $0.record(answered: true) }
            return answer
        } catch let error as DatabaseError where error.isUnavailable && !Task.isCancelled {
            if silentProbes.withLock({ $0.record(answered: false) }) { breaker.trip() }
            return nil
        } catch {
            // An error the server answered with, or a probe cut short by a shutdown.
            return nil
        }
    }

    private func probe(timeout: Duration, permit: CircuitBreakerState.Permit) async throws -> (inRecovery: Bool, position: WALPosition)? {
        let address = address
        return try await guarded(permit) {
            try await withDeadline(timeout, orThrow: { DatabaseError.unavailable("\(address): no answer within \(timeout)") }) {
                let connection = try await self.probeConnection.connection()
                // Past the deadline (connecting took that long): kept for the next probe.
                try Task.checkCancellation()
                do {
                    let executor = PostgresExecutor(connection: connection, logger: self.logger, node: address, statementTimeout: timeout, breaker: self.breaker)
                    let row = try await executor.first(
                        "SELECT pg_is_in_recovery(), (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text"
                    )
                    guard let row, let position = WALPosition(try row.decode(at: 1, as: String.self)) else { return nil }
                    return (try row.decode(at: 0, as: Bool.self), position)
                } catch {
                    self.probeConnection.discard()
                    throw error
                }
            }
        }
    }

    /// `PostgresClient.withConnection` with an acquire timeout, which the client lacks: a
    /// lease still waiting when the timeout fires is cancelled (postgres-nio withdraws
    /// the request), and the caller gets `DatabaseError.acquireTimeout`. Once a
    /// connection is held, the work itself is not timed.
    private func withConnection<Result: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let lease = LeaseState()
        return try await withoutActuallyEscaping(body) { body in
            try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask {
                    try await self.client.withConnection { connection in
                        // Either the body runs or the caller hears of a timeout, never both.
                        guard lease.state.compareExchange(expected: LeaseState.waiting, desired: LeaseState.acquired, ordering: .acquiringAndReleasing).exchanged
                        else { throw DatabaseError.acquireTimeout }
                        self.idle.decrement()
                        defer { self.idle.increment() }
                        return try await body(connection)
                    }
                }
                group.addTask {
                    // Waits for the acquire timeout, or less when the server cannot be
                    // reached at all (nothing open, an attempt failed in the last two
                    // seconds) or its breaker is open: a server that is down fails its
                    // callers in milliseconds.
                    let started = MonotonicClock.nanoseconds() &- 2_000_000_000
                    let deadline = ContinuousClock.now + self.acquireTimeout
                    var unreachable = false
                    while ContinuousClock.now < deadline, !unreachable {
                        try await Task.sleep(for: min(Self.reachabilityCheck, deadline - ContinuousClock.now))
                        // Or its breaker opened meanwhile: the node is failing, and a lease
                        // waiting on it would wait out the whole timeout.
                        unreachable = self.connections.unreachable(since: started) || self.breaker.phase.refusesCalls
                    }
                    if lease.state.compareExchange(expected: LeaseState.waiting, desired: LeaseState.timedOut, ordering: .acquiringAndReleasing).exchanged {
                        throw unreachable ? DatabaseError.unavailable("cannot connect to the server") : DatabaseError.acquireTimeout
                    }
                    return nil
                }
                while let next = try await group.next() {
                    if let result = next {
                        group.cancelAll()
                        return result
                    }
                }
                throw DatabaseError.acquireTimeout
            }
        }
    }

    /// How often a waiting lease checks whether the server can be reached at all.
    static let reachabilityCheck: Duration = .milliseconds(50)

    /// Whether a lease got its connection first or its timer fired first.
    private final class LeaseState: Sendable {
        static let waiting = 0
        static let acquired = 1
        static let timedOut = 2
        let state = Atomic<Int>(LeaseState.waiting)
    }

    /// Runs `body` in a transaction, and runs it again (up to three times in all) when
    /// PostgreSQL aborts it as a deadlock victim or a serialization failure: the whole
    /// transaction was rolled back, so a retry is safe. Retries go through the node's
    /// `Retrier`, whose budget keeps a storm of conflicts from doubling the load.
    public func transaction<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        do {
            return try await retrier.run(isRetryable: { if case PostgresExecutor.Retryable.transactionAborted = $0 { true } else { false } }) {
                try await transactionOnce(body)
            }
        } catch PostgresExecutor.Retryable.transactionAborted(let state) {
            throw DatabaseError.aborted("transaction aborted (\(state)); not retried again")
        }
    }

    private func transactionOnce<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await guarded {
            try await withConnection { connection in
                try await PostgresExecutor(connection: connection, logger: logger, node: address, statementTimeout: statementTimeout, breaker: breaker).inTransaction(begin: "BEGIN", logger: logger, body)
            }
        }
    }

    public func listen(on channel: String, _ onNotification: @escaping @Sendable (String) -> Void) async throws {
        do {
            // Through the acquire timeout: a server that is down fails this in milliseconds
            // (the caller retries later) instead of leaving a lease request pending, which a
            // shutdown would wait for.
            try await withConnection { connection in
                try await connection.listen(on: channel) { notifications in
                    for try await notification in notifications { onNotification(notification.payload) }
                }
            }
        } catch let error as PSQLError {
            throw PostgresExecutor.translate(error)
        }
    }

    public func ping() async -> Bool {
        (try? await read { try await $0.first("SELECT 1 AS ok") != nil }) ?? false
    }

    public func close() async {}
}

/// Runs queries on one leased PostgreSQL connection, translating values and errors.
struct PostgresExecutor: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    let node: String?
    /// How long a statement may go without an answer before it is abandoned.
    let statementTimeout: Duration
    /// The node's breaker: while it is open (calls to the node keep failing), a statement
    /// still waiting on the node is abandoned at once instead of at the timeout, since a
    /// crash can leave a statement on a connection being torn down with no answer and no
    /// error.
    let breaker: CircuitBreaker
    /// Set once a statement failed for want of a connection (broken, closed, or no
    /// answer): nothing more may be sent on it.
    private let lost = ConnectionLoss()
    var dialect: SQLDialect { .postgres }

    init(connection: PostgresConnection, logger: Logger, node: String?, statementTimeout: Duration, breaker: CircuitBreaker) {
        self.connection = connection
        self.logger = logger
        self.node = node
        self.statementTimeout = statementTimeout
        self.breaker = breaker
    }

    func canRollBack(after error: any Error) -> Bool {
        !lost.happened.load(ordering: .relaxed) && !connection.isClosed
    }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        let (sql, binds) = query.render(for: .postgres)
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let integer): bindings.append(integer)
            case .real(let real): bindings.append(real)
            case .text(let text): bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        let statement = PostgresQuery(unsafeSQL: sql, binds: bindings)
        let (connection, logger, node, timeout, breaker) = (connection, logger, node ?? "postgres", statementTimeout, breaker)
        do {
            // A statement sent as its connection was being closed under it (a server
            // restarting) has been seen to get no answer and no error, ever: the caller is
            // answered at the timeout, and the connection is closed so the pool drops it.
            // A cancelled caller still waits for the statement (as it did without the
            // timeout): a ROLLBACK abandoned half way would put the connection back in
            // the pool inside an open transaction, holding its locks.
            return try await withDeadlineIgnoringCancellation(
                timeout,
                orThrow: {
                    abandonConnection()
                    let down = breaker.phase.refusesCalls
                    return DatabaseError.unavailable(down ? "\(node): down, with a statement in flight" : "\(node): no answer to a statement within \(timeout)")
                },
                giveUpIf: { breaker.phase.refusesCalls || connection.isClosed },
                {
                    let rows = try await connection.query(statement, logger: logger)
                    var result: [SQLRow] = []
                    var columns: SQLColumns?
                    for try await row in rows {
                        let cells = Array(row)
                        let names = columns ?? SQLColumns(cells.map(\.columnName))
                        columns = names
                        result.append(SQLRow(columns: names, values: try cells.map(Self.value(of:))))
                    }
                    return result
                }
            )
        } catch let error as PSQLError {
            if Self.endsConnection(error) { abandonConnection() }
            throw Self.translate(error)
        }
    }

    /// Nothing more is sent on the connection, and it is closed for certain, so that the
    /// pool drops it rather than lend it again inside a transaction it could not roll back.
    private func abandonConnection() {
        lost.happened.store(true, ordering: .relaxed)
        let connection = connection
        Task { try? await connection.close() }
    }

    static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea: return .blob(Array(buffer: try cell.decode(ByteBuffer.self)))
        default: return .text(try cell.decode(String.self))
        }
    }

    /// The driver's errors that mean the connection is gone (not an answer from the server).
    static let connectionLost: [PSQLError.Code] = [.connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed]

    /// Whether nothing more can be sent on the connection after `error`: the driver lost
    /// it, or the server said FATAL (or PANIC), after which it closes the connection
    /// (57P01 when a server is stopped or crashes under the session, as in a failover).
    static func endsConnection(_ error: PSQLError) -> Bool {
        if connectionLost.contains(error.code) { return true }
        guard let severity = error.serverInfo?[.severity] else { return false }
        return severity == "FATAL" || severity == "PANIC"
    }

    /// Whether the connection was lost under a statement; shared by the executor's copies.
    private final class ConnectionLoss: Sendable {
        let happened = Atomic<Bool>(false)
    }

    /// Errors after which the caller may run the transaction again.
    enum Retryable: Error {
        case transactionAborted(String)
    }

    static func translate(_ error: PSQLError) -> any Error {
        if let state = error.serverInfo?[.sqlState] {
            if state == "40P01" || state == "40001" { return Retryable.transactionAborted(state) }
            let message = error.serverInfo?[.message] ?? state
            if state == "23505" { return DatabaseError.uniqueViolation(message) }
            // Connection trouble, a server shutting down or starting, and insufficient
            // resources (53300: too many connections) pass: retry shortly (503).
            // 25006: a write reached a server in recovery (a primary demoted under us).
            if state.hasPrefix("08") || state.hasPrefix("53") || ["57P01", "57P02", "57P03", "25006"].contains(state) {
                return DatabaseError.unavailable(message)
            }
            return DatabaseError.failed("postgres \(state): \(message)")
        }
        return connectionLost.contains(error.code) ? DatabaseError.unavailable("\(error.code)") : DatabaseError.failed("postgres: \(error.code)")
    }
}
