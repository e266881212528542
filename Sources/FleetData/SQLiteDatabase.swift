public import Logging

/// The embedded database: one SQLite file in WAL mode with one writer and many readers.
///
/// SQLite allows one writer at a time. Rather than let concurrent writers collide and
/// fail with "database is locked", every transaction runs on the single writer connection,
/// queued in arrival order. Reads run on a pool of read-only connections that WAL lets
/// proceed while a write is in flight.
public final class SQLiteDatabase: Database {
    public struct Configuration: Sendable {
        /// Path of the database file; `:memory:` is not supported (readers need a shared file).
        public var path: String
        /// Number of read-only connections.
        public var readers: Int
        /// How long a caller waits for a free connection before failing.
        public var acquireTimeout: Duration
        /// `PRAGMA synchronous`: `normal` survives a killed process (WAL), `full` also a power cut.
        public var synchronous: String
        /// How long a call may run on the caller's thread before it is moved to its
        /// connection's own thread (see `read`).
        public var inlineBudget: Duration = .milliseconds(5)

        public init(path: String, readers: Int = 4, acquireTimeout: Duration = .seconds(10), synchronous: String = "normal") {
            self.path = path
            self.readers = readers
            self.acquireTimeout = acquireTimeout
            self.synchronous = synchronous
        }
    }

    public var dialect: SQLDialect { .sqlite }
    let writer: AsyncPool<SQLiteConnection>
    let readers: AsyncPool<SQLiteConnection>
    private let configuration: Configuration
    private let logger: Logger

    private init(writer: SQLiteConnection, readers: [SQLiteConnection], configuration: Configuration, logger: Logger) {
        self.writer = AsyncPool([writer])
        self.readers = AsyncPool(readers)
        self.configuration = configuration
        self.logger = logger
    }

    /// Its connections: the one writer and the readers (for the ops page's pools).
    public var connectionCount: Int { 1 + max(1, configuration.readers) }

    /// The database file.
    public var path: String { configuration.path }

    /// Opens (creating if needed) the database file and its connections.
    public static func open(_ configuration: Configuration, logger: Logger) async throws -> SQLiteDatabase {
        guard ["off", "normal", "full", "extra"].contains(configuration.synchronous.lowercased()) else {
            throw DatabaseError.failed("invalid synchronous mode \(configuration.synchronous)")
        }
        let writer = try SQLiteConnection(path: configuration.path)
        // WAL lets readers run beside the writer; the mode is stored in the file.
        _ = try writer.query("PRAGMA journal_mode = WAL", [])
        _ = try writer.query("PRAGMA synchronous = \(configuration.synchronous.uppercased())", [])
        var readers: [SQLiteConnection] = []
        for _ in 0..<max(1, configuration.readers) {
            let reader = try SQLiteConnection(path: configuration.path)
            _ = try reader.query("PRAGMA query_only = ON", [])
            readers.append(reader)
        }
        return SQLiteDatabase(writer: writer, readers: readers, configuration: configuration, logger: logger)
    }

    /// SQLite is called synchronously, so whoever calls it blocks the thread it runs on.
    /// Most calls take microseconds: they run where the caller is, on one of Swift's
    /// cooperative threads (one per core), since moving them to another thread and back
    /// would cost more than the work. A call that runs longer than `inlineBudget` is
    /// stopped, thrown away and run again on its connection's own thread, where it may
    /// take as long as it likes without holding a cooperative thread (which every other
    /// request needs) for more than the budget. Reads and transactions are all-or-nothing,
    /// so running one again is safe: a transaction that was stopped is rolled back first.
    public func read<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await readers.withResource(timeout: configuration.acquireTimeout) { connection in
            let executor = SQLiteExecutor(connection: connection)
            if let result = try await attempt(on: connection, { try await body(executor) }) { return result }
            return try await withTaskExecutorPreference(connection.executor) { try await body(executor) }
        }
    }

    public func transaction<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await writer.withResource(timeout: configuration.acquireTimeout) { connection in
            let executor = SQLiteExecutor(connection: connection)
            if let result = try await attempt(on: connection, { try await transactionOnce(executor, body) }) { return result }
            connection.rollbackIfOpen()
            return try await withTaskExecutorPreference(connection.executor) { try await transactionOnce(executor, body) }
        }
    }

    /// One transaction; one that was stopped at the deadline is rolled back, never
    /// committed, even if `body` swallowed the interruption.
    private func transactionOnce<Result: Sendable>(
        _ executor: SQLiteExecutor, _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        let interruptions = executor.connection.interruptions
        // IMMEDIATE takes the write lock up front instead of upgrading mid-transaction.
        return try await executor.inTransaction(begin: "BEGIN IMMEDIATE", logger: logger) { db in
            let result = try await body(db)
            if executor.connection.interruptions != interruptions { throw SQLiteInterrupted() }
            return result
        }
    }

    /// Runs `work` here within `inlineBudget`; nil when it was stopped at the deadline
    /// (whether or not the interruption reached `work`'s caller: its result is not used,
    /// and its statements are not counted in a `QueryCount` measurement).
    private func attempt<Result>(on connection: SQLiteConnection, _ work: () async throws -> Result) async throws -> Result? {
        let interruptions = connection.interruptions
        let measured = QueryCount.current
        let counted = QueryCount.Counter()
        defer { if connection.interruptions == interruptions { measured?.add(counted.value) } }
        do {
            let result = try await QueryCount.$current.withValue(measured == nil ? nil : counted) {
                try await connection.within(configuration.inlineBudget, work)
            }
            return connection.interruptions == interruptions ? result : nil
        } catch {
            if connection.interruptions != interruptions { return nil }
            throw error
        }
    }

    public func ping() async -> Bool {
        do {
            return try await read { try await $0.first("SELECT 1 AS ok") != nil }
        } catch {
            return false
        }
    }

    public func close() async {
        // Connections close when the last reference goes: once the pools have let go.
        _ = writer.close()
        _ = readers.close()
    }
}

/// Runs queries on one leased SQLite connection.
struct SQLiteExecutor: SQLExecutor {
    let connection: SQLiteConnection
    var dialect: SQLDialect { .sqlite }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        let (sql, binds) = query.render(for: .sqlite)
        return try connection.query(sql, binds)
    }

    /// Not when SQLite already ended the transaction (an interrupted write rolls it back
    /// whole): a ROLLBACK would only fail, and log that it did.
    func canRollBack(after error: any Error) -> Bool {
        connection.inTransaction
    }
}
