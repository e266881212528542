import Logging

/// Something that runs SQL: a pooled connection, or a transaction in progress.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// Runs a statement and returns its rows (none for statements without results).
    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow]
}

extension SQLExecutor {
    /// The first row, if any.
    public func first(_ query: SQLQuery) async throws -> SQLRow? {
        try await self.query(query).first
    }

    /// Runs a statement for its effect.
    public func execute(_ query: SQLQuery) async throws {
        try await self.query(query)
    }

    /// Runs `body` between `begin` and `COMMIT` on this connection, rolling back if it
    /// throws. The one transaction protocol every `Database` implementation shares.
    func inTransaction<Result>(begin: SQLQuery, logger: Logger, _ body: (any SQLExecutor) async throws -> Result) async throws -> Result {
        try await execute(begin)
        do {
            let result = try await body(self)
            try await execute("COMMIT")
            return result
        } catch {
            do {
                try await execute("ROLLBACK")
            } catch let rollbackError {
                logger.error("rollback failed", metadata: ["error": "\(rollbackError)"])
            }
            throw error
        }
    }
}

/// A database as the rest of Fleet sees it: reads that may run concurrently, and
/// transactions that are serialised by the database as it needs.
///
/// Implemented by SQLite for the embedded default and by PostgreSQL for the fleet. The
/// split between `read` and `transaction` is what lets an implementation send reads to
/// replicas and writes to a primary without its callers knowing.
public protocol Database: Sendable {
    var dialect: SQLDialect { get }

    /// Runs `body` with a connection suited to reads. It must not write. With replicas,
    /// it may run on one that has replayed everything this session wrote
    /// (`SessionConsistency`), but not necessarily other sessions' latest writes.
    func read<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result

    /// Like `read`, but sees every write committed before the call, whoever made it: for
    /// filling shared caches, which must never keep data older than the write that last
    /// invalidated it.
    func readLatest<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result

    /// Whether the database answers a trivial query.
    func ping() async -> Bool

    /// Closes every connection. Calls after this fail.
    func close() async
}

extension Database {
    /// A database without replicas reads its latest state everywhere.
    public func readLatest<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await read(body)
    }
}

/// The errors that callers may want to tell apart, whatever the driver.
public enum DatabaseError: Error, Equatable, CustomStringConvertible {
    /// A unique or primary-key constraint was violated; the message names the constraint.
    case uniqueViolation(String)
    /// The database could not be reached or is shutting down.
    case unavailable(String)
    /// The pool had no connection free within its acquire timeout.
    case acquireTimeout
    /// Anything else the driver reported.
    case failed(String)

    /// The node could not serve the call at all (down, or no connection to be had):
    /// another node may.
    public var isUnavailable: Bool {
        switch self {
        case .unavailable, .acquireTimeout: true
        case .uniqueViolation, .failed: false
        }
    }

    public var description: String {
        switch self {
        case .uniqueViolation(let message): "unique violation: \(message)"
        case .unavailable(let message): "database unavailable: \(message)"
        case .acquireTimeout: "timed out waiting for a database connection"
        case .failed(let message): message
        }
    }
}
