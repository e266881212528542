import Metrics
import Synchronization

/// Wraps any `Database` to count and time every round trip.
///
/// The count is what the N+1 tests read: an endpoint whose query count grows with the
/// page size shows up as a different number at `limit=1` and `limit=100`. The timings go
/// to swift-metrics as `db.client.operation.duration` (OpenTelemetry's name).
public final class InstrumentedDatabase: Database {
    public let base: any Database
    private let counter = QueryCounter()
    private let readTimer: Timer
    private let writeTimer: Timer

    public init(_ base: any Database, system: String) {
        self.base = base
        self.readTimer = Timer(
            label: "db.client.operation.duration", dimensions: [("db.system", system), ("db.operation", "read")],
            preferredDisplayUnit: .seconds
        )
        self.writeTimer = Timer(
            label: "db.client.operation.duration", dimensions: [("db.system", system), ("db.operation", "write")],
            preferredDisplayUnit: .seconds
        )
    }

    /// Round trips made through this database since it was created.
    public var queryCount: Int { counter.value }

    public var dialect: SQLDialect { base.dialect }

    public func read<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await base.read { executor in
            try await body(CountingExecutor(base: executor, counter: counter, timer: readTimer))
        }
    }

    public func transaction<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        // BEGIN and COMMIT are round trips too.
        counter.add(2)
        return try await base.transaction { executor in
            try await body(CountingExecutor(base: executor, counter: counter, timer: writeTimer))
        }
    }

    public func ping() async -> Bool { await base.ping() }
    public func close() async { await base.close() }
}

private struct CountingExecutor: SQLExecutor {
    let base: any SQLExecutor
    let counter: QueryCounter
    let timer: Timer
    var dialect: SQLDialect { base.dialect }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        counter.add(1)
        let start = ContinuousClock.now
        defer { timer.record(duration: ContinuousClock.now - start) }
        return try await base.query(query)
    }
}

/// A shared, lock-free count of round trips.
final class QueryCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func add(_ n: Int) { count.add(n, ordering: .relaxed) }
}
