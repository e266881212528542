import Logging

/// Something that runs SQL: a pooled connection, or a transaction in progress.
public protocol SQLExecutor: Sendable {
    var dialect: SQLDialect { get }
    /// The server this executor's connection is on (`host:port`), for traces; nil for an
    /// embedded database.
    var node: String? { get }
    /// Runs a statement and returns its rows (none for statements without results).
    @discardableResult
    func query(_ query: SQLQuery) async throws -> [SQLRow]
    /// Whether a transaction on this connection that failed with `error` can still be
    /// rolled back on it. Not when the connection itself is gone: the server has rolled
    /// it back already, and a statement sent on a connection that is being torn down
    /// may get no answer at all (a crashed PostgreSQL primary left ROLLBACKs waiting for
    /// the whole statement timeout).
    func canRollBack(after error: any Error) -> Bool
}

extension SQLExecutor {
    public var node: String? { nil }

    public func canRollBack(after error: any Error) -> Bool { true }

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
            guard canRollBack(after: error) else { throw error }
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

    /// Calls `onNotification` with the payload of every notification sent on `channel`
    /// (PostgreSQL's LISTEN/NOTIFY) until cancelled, holding one connection. Returns at
    /// once on a database without notifications (SQLite): callers treat them as a hint
    /// and poll anyway.
    func listen(on channel: String, _ onNotification: @escaping @Sendable (String) -> Void) async throws
}

extension Database {
    public func listen(on channel: String, _ onNotification: @escaping @Sendable (String) -> Void) async throws {}

    /// A database without replicas reads its latest state everywhere.
    public func readLatest<Result: Sendable>(
        _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        try await read(body)
    }
}

/// What went wrong with a database call, whatever the driver: a struct with a code, so
/// that callers tell failures apart by `code` and new codes can come without breaking them.
public struct DatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        public var description: String { raw }

        /// A unique or primary-key constraint was violated; the message names the constraint.
        public static let uniqueViolation = Code(raw: "uniqueViolation")
        /// The database could not be reached or is shutting down.
        public static let unavailable = Code(raw: "unavailable")
        /// The pool had no connection free within its acquire timeout.
        public static let acquireTimeout = Code(raw: "acquireTimeout")
        /// A setting (a URL, a mode) that cannot be used.
        public static let configuration = Code(raw: "configuration")
        /// The database aborted the transaction (a deadlock victim, a serialization
        /// failure) every time it was tried: trying again later may succeed.
        public static let aborted = Code(raw: "aborted")
        /// Anything else the driver reported.
        public static let failed = Code(raw: "failed")
    }

    public let code: Code
    /// For logs: never shown to clients (it may quote SQL or a server's message).
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func uniqueViolation(_ message: String) -> DatabaseError { DatabaseError(.uniqueViolation, message) }
    public static func unavailable(_ message: String) -> DatabaseError { DatabaseError(.unavailable, message) }
    public static let acquireTimeout = DatabaseError(.acquireTimeout, "timed out waiting for a database connection")
    public static func configuration(_ message: String) -> DatabaseError { DatabaseError(.configuration, message) }
    public static func aborted(_ message: String) -> DatabaseError { DatabaseError(.aborted, message) }
    public static func failed(_ message: String) -> DatabaseError { DatabaseError(.failed, message) }

    /// The node could not serve the call at all (down, or no connection to be had):
    /// another node may.
    public var isUnavailable: Bool { code == .unavailable || code == .acquireTimeout }

    public var description: String {
        switch code {
        case .uniqueViolation: "unique violation: \(message)"
        case .unavailable: "database unavailable: \(message)"
        case .configuration: "database configuration: \(message)"
        default: message
        }
    }
}
