import Metrics
import Synchronization
import Tracing

/// Wraps any `Database` to count and time every round trip and every connection lease.
///
/// Round trips are counted for whoever asks (`QueryCount.measure`): what the N+1 tests
/// read, since an endpoint whose query count grows with the page size shows up as a
/// different number at `limit=1` and `limit=100`. Everything else goes to swift-metrics under OpenTelemetry's database-client names:
/// `db.client.operation.duration` per statement, `db.client.connection.wait_time` for
/// the wait for a pooled connection, and the `used` and `pending_requests` connection
/// gauges, the same for SQLite and PostgreSQL. With tracing on, every statement is a
/// client span (`db.system`, `db.shard`, the node, the operation and the statement with
/// its placeholders: bound values never reach a trace).
public final class InstrumentedDatabase: Database {
    public let base: any Database
    let system: String
    let shard: Int
    private let readTimer: Timer
    private let writeTimer: Timer
    private let waitTimer: Timer
    private let used: Meter
    private let pending: Meter
    private let usedNow = Atomic<Int>(0)
    private let pendingNow = Atomic<Int>(0)

    public init(_ base: any Database, system: String, shard: Int = 0) {
        self.base = base
        self.system = system
        self.shard = shard
        func dimensions(_ extra: (String, String)...) -> [(String, String)] { [("db.system", system), ("db.shard", String(shard))] + extra }
        self.readTimer = Timer(label: "db.client.operation.duration", dimensions: dimensions(("db.operation", "read")), preferredDisplayUnit: .seconds)
        self.writeTimer = Timer(label: "db.client.operation.duration", dimensions: dimensions(("db.operation", "write")), preferredDisplayUnit: .seconds)
        self.waitTimer = Timer(label: "db.client.connection.wait_time", dimensions: dimensions(), preferredDisplayUnit: .seconds)
        self.used = Meter(label: "db.client.connection.count", dimensions: dimensions(("state", "used")))
        self.pending = Meter(label: "db.client.connection.pending_requests", dimensions: dimensions())
    }

    public var dialect: SQLDialect { base.dialect }

    /// Connections in use and calls waiting for one now, as the gauges say (for the ops page).
    public var connections: (inUse: Int, waiting: Int) {
        (usedNow.load(ordering: .relaxed), pendingNow.load(ordering: .relaxed))
    }

    public func read<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await instrumented(body, timer: readTimer) { try await base.read($0) }
    }

    public func readLatest<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await instrumented(body, timer: readTimer) { try await base.readLatest($0) }
    }

    public func transaction<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        // BEGIN and COMMIT are round trips too.
        QueryCount.current?.add(2)
        return try await instrumented(body, timer: writeTimer) { try await base.transaction($0) }
    }

    /// Runs `call` (one of the base's methods) with `body` wrapped: the lease is timed and
    /// counted as pending then used, and every statement is counted and timed.
    private func instrumented<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result,
        timer: Timer,
        call: (@Sendable (any SQLExecutor) async throws -> Result) async throws -> Result
    ) async throws -> Result {
        let lease = Lease(self)
        defer { lease.finish() }
        return try await withoutActuallyEscaping(body) { body in
            try await call { executor in
                lease.acquired()
                defer { lease.released() }
                return try await body(CountingExecutor(base: executor, timer: timer, system: system, shard: shard))
            }
        }
    }

    public func ping() async -> Bool { await base.ping() }
    public func close() async { await base.close() }
    public func listen(on channel: String, _ onNotification: @escaping @Sendable (String) -> Void) async throws {
        try await base.listen(on: channel, onNotification)
    }

    /// One request for a connection: pending until acquired, then used until released.
    private final class Lease: Sendable {
        private let database: InstrumentedDatabase
        private let requested = ContinuousClock.now
        private let pending = Atomic<Bool>(true)

        init(_ database: InstrumentedDatabase) {
            self.database = database
            database.pending.increment()
            database.pendingNow.add(1, ordering: .relaxed)
        }

        func acquired() {
            if pending.exchange(false, ordering: .relaxed) {
                database.pending.decrement()
                database.pendingNow.subtract(1, ordering: .relaxed)
            }
            database.waitTimer.record(duration: ContinuousClock.now - requested)
            database.used.increment()
            database.usedNow.add(1, ordering: .relaxed)
        }

        func released() {
            database.used.decrement()
            database.usedNow.subtract(1, ordering: .relaxed)
        }

        /// Called when the call returns, acquired or not (a timeout, a closed pool).
        func finish() {
            if pending.exchange(false, ordering: .relaxed) {
                database.pending.decrement()
                database.pendingNow.subtract(1, ordering: .relaxed)
            }
        }
    }
}

private struct CountingExecutor: SQLExecutor {
    let base: any SQLExecutor
    let timer: Timer
    let system: String
    let shard: Int
    var dialect: SQLDialect { base.dialect }
    var node: String? { base.node }

    func canRollBack(after error: any Error) -> Bool { base.canRollBack(after: error) }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        QueryCount.current?.add(1)
        let start = ContinuousClock.now
        defer { timer.record(duration: ContinuousClock.now - start) }
        // Statements are traced inside a trace only (a request, a job's run): background
        // polls and maintenance would otherwise each be a trace of one span.
        guard ServiceContext.current != nil else { return try await base.query(query) }
        return try await withSpan("db.query", ofKind: .client) { span in
            // The statement is rendered for the span only when it is recorded: with tracing
            // off or the trace not sampled, a statement costs no more than before.
            if span.isRecording { describe(query, in: span) }
            return try await base.query(query)
        }
    }

    private func describe(_ query: SQLQuery, in span: any Span) {
        let text = query.render(for: dialect).0
        let operation = text.prefix(while: { !$0.isWhitespace }).uppercased()
        span.operationName = "\(operation) shard \(shard)"
        span.updateAttributes { attributes in
            attributes["db.system"] = system
            attributes["db.operation.name"] = operation
            attributes["db.query.text"] = text
            attributes["db.shard"] = shard
            if let node = base.node {
                let parts = node.split(separator: ":")
                attributes["server.address"] = parts.first.map(String.init)
                attributes["server.port"] = parts.count > 1 ? Int(parts[1]) : nil
            }
        }
    }
}

/// Counts the round trips a piece of work makes through `InstrumentedDatabase`s, on any
/// node, in the tasks it starts too; background work running meanwhile is not counted.
public enum QueryCount {
    @TaskLocal static var current: Counter?

    /// Runs `body` and returns its result and the round trips it made.
    public static func measure<Result>(_ body: () async throws -> Result) async rethrows -> (Result, Int) {
        let counter = Counter()
        let result = try await $current.withValue(counter) { try await body() }
        return (result, counter.value)
    }

    final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
        func add(_ n: Int) { count.add(n, ordering: .relaxed) }
    }
}
