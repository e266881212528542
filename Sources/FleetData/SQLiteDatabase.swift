public import Logging
import NIOCore
import NIOPosix
import SQLiteNIO

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

        public init(path: String, readers: Int = 4, acquireTimeout: Duration = .seconds(10), synchronous: String = "normal") {
            self.path = path
            self.readers = readers
            self.acquireTimeout = acquireTimeout
            self.synchronous = synchronous
        }
    }

    public var dialect: SQLDialect { .sqlite }
    private let writer: AsyncPool<SQLiteConnection>
    private let readers: AsyncPool<SQLiteConnection>
    private let configuration: Configuration
    private let logger: Logger

    private init(writer: SQLiteConnection, readers: [SQLiteConnection], configuration: Configuration, logger: Logger) {
        self.writer = AsyncPool([writer])
        self.readers = AsyncPool(readers)
        self.configuration = configuration
        self.logger = logger
    }

    /// Opens (creating if needed) the database file and its connections.
    public static func open(_ configuration: Configuration, logger: Logger) async throws -> SQLiteDatabase {
        guard ["off", "normal", "full", "extra"].contains(configuration.synchronous.lowercased()) else {
            throw DatabaseError.failed("invalid synchronous mode \(configuration.synchronous)")
        }
        let threadPool = NIOThreadPool.singleton
        let eventLoops = MultiThreadedEventLoopGroup.singleton
        func connect() async throws -> SQLiteConnection {
            do {
                return try await SQLiteConnection.open(
                    storage: .file(path: configuration.path), threadPool: threadPool, logger: logger, on: eventLoops.any()
                )
            } catch {
                throw DatabaseError.unavailable("cannot open \(configuration.path): \(error)")
            }
        }
        let writer = try await connect()
        // WAL lets readers run beside the writer; the mode is stored in the file.
        _ = try await writer.query("PRAGMA journal_mode = WAL")
        _ = try await writer.query("PRAGMA synchronous = \(configuration.synchronous.uppercased())")
        _ = try await writer.query("PRAGMA foreign_keys = ON")
        _ = try await writer.query("PRAGMA busy_timeout = 5000")
        var readers: [SQLiteConnection] = []
        for _ in 0..<max(1, configuration.readers) {
            let reader = try await connect()
            _ = try await reader.query("PRAGMA query_only = ON")
            _ = try await reader.query("PRAGMA busy_timeout = 5000")
            readers.append(reader)
        }
        return SQLiteDatabase(writer: writer, readers: readers, configuration: configuration, logger: logger)
    }

    public func read<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await readers.withResource(timeout: configuration.acquireTimeout) { connection in
            try await body(SQLiteExecutor(connection: connection))
        }
    }

    public func transaction<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await writer.withResource(timeout: configuration.acquireTimeout) { connection in
            let executor = SQLiteExecutor(connection: connection)
            try await executor.execute("BEGIN IMMEDIATE")
            do {
                let result = try await body(executor)
                try await executor.execute("COMMIT")
                return result
            } catch {
                do {
                    try await executor.execute("ROLLBACK")
                } catch let rollbackError {
                    logger.error("rollback failed", metadata: ["error": "\(rollbackError)"])
                }
                throw error
            }
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
        for connection in writer.close() + readers.close() {
            try? await connection.close()
        }
    }
}

/// Runs queries on one SQLite connection, translating values and errors.
struct SQLiteExecutor: SQLExecutor {
    let connection: SQLiteConnection
    var dialect: SQLDialect { .sqlite }

    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow] {
        let (sql, binds) = query.render(for: .sqlite)
        let rows: [SQLiteRow]
        do {
            rows = try await connection.query(sql, binds.map(\.sqliteData))
        } catch let error as SQLiteError {
            throw Self.translate(error)
        }
        guard let first = rows.first else { return [] }
        let columns = SQLColumns(first.columns.map(\.name))
        return rows.map { row in SQLRow(columns: columns, values: row.columns.map { SQLValue($0.data) }) }
    }

    static func translate(_ error: SQLiteError) -> DatabaseError {
        switch error.reason {
        case .constraintUniqueFailed, .constraintPrimaryKeyFailed, .constraintUniqueRowIDFailed:
            .uniqueViolation(error.message)
        case .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath, .misuse:
            .unavailable(error.message)
        default:
            .failed(error.description)
        }
    }
}

extension SQLValue {
    var sqliteData: SQLiteData {
        switch self {
        case .null: .null
        case .integer(let value): .integer(SQLiteInt64(value))
        case .real(let value): .float(value)
        case .text(let value): .text(value)
        case .blob(let bytes): .blob(ByteBuffer(bytes: bytes))
        }
    }

    init(_ data: SQLiteData) {
        switch data {
        case .null: self = .null
        case .integer(let value): self = .integer(Int64(value))
        case .float(let value): self = .real(value)
        case .text(let value): self = .text(value)
        case .blob(var buffer): self = .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
        }
    }
}
