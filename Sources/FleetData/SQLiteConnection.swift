import CSQLite

/// One connection to a SQLite file, called synchronously, with a thread of its own for
/// work that turns out to be slow (see `SQLiteDatabase`). Prepared statements are kept
/// and reused. A connection is not safe for concurrent use: `SQLiteDatabase` lends each
/// one to a single task at a time, which is what `@unchecked Sendable` relies on.
final class SQLiteConnection: @unchecked Sendable {
    let executor: ThreadExecutor
    private let handle: OpaquePointer
    /// While set, statements still running past it are interrupted (`SQLiteInterrupted`).
    private var deadline: ContinuousClock.Instant?
    /// Statements interrupted since the connection opened.
    private(set) var interruptions = 0
    private var statements: [String: Statement] = [:]
    private static let statementCacheLimit = 512

    /// A prepared statement with the column names of its results.
    private struct Statement {
        let pointer: OpaquePointer
        let columns: SQLColumns
    }

    init(path: String) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw DatabaseError.unavailable("cannot open \(path): \(message)")
        }
        self.handle = handle
        self.executor = ThreadExecutor(name: "sqlite")
        sqlite3_extended_result_codes(handle, 1)
        // Waits (sleeping) for a lock held by another process, e.g. `fleet migrate`.
        sqlite3_busy_timeout(handle, 5_000)
        // Every 1,000 virtual-machine steps (tens of microseconds), the deadline is checked.
        sqlite3_progress_handler(handle, 1_000, { context in
            guard let context else { return 0 }
            return Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue().pastDeadline() ? 1 : 0
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    private func pastDeadline() -> Bool {
        guard let deadline, ContinuousClock.now >= deadline else { return false }
        interruptions += 1
        return true
    }

    /// Whether a transaction is open. SQLite ends one itself when some statements fail
    /// inside it (an interrupted write, a full disk): there is nothing to roll back then.
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Rolls back a transaction left open (by a rollback that failed).
    func rollbackIfOpen() {
        if inTransaction { _ = try? query("ROLLBACK", []) }
    }

    /// Runs `body` with statements interrupted once `budget` has passed.
    func within<Result>(_ budget: Duration, _ body: () async throws -> Result) async rethrows -> Result {
        deadline = ContinuousClock.now + budget
        defer { deadline = nil }
        return try await body()
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement.pointer) }
        sqlite3_close_v2(handle)
        executor.stop()
    }

    /// Runs one statement with its binds and returns every row.
    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement.pointer)
            sqlite3_clear_bindings(statement.pointer)
        }
        for (index, value) in binds.enumerated() {
            try check(bind(value, at: Int32(index + 1), in: statement.pointer))
        }
        var rows: [SQLRow] = []
        let count = Int32(statement.columns.names.count)
        while true {
            let status = sqlite3_step(statement.pointer)
            if status == SQLITE_DONE { break }
            if status == SQLITE_INTERRUPT { throw SQLiteInterrupted() }
            guard status == SQLITE_ROW else { throw error(status) }
            var values: [SQLValue] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count { values.append(value(at: column, in: statement.pointer)) }
            rows.append(SQLRow(columns: statement.columns, values: values))
        }
        return rows
    }

    private func prepared(_ sql: String) throws -> Statement {
        if let cached = statements[sql] { return cached }
        var pointer: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard status == SQLITE_OK, let pointer else { throw error(status) }
        let names = (0..<sqlite3_column_count(pointer)).map { String(cString: sqlite3_column_name(pointer, $0)) }
        let statement = Statement(pointer: pointer, columns: SQLColumns(names))
        if statements.count >= Self.statementCacheLimit {
            // Rare (many distinct IN-list lengths): start over rather than track recency.
            for old in statements.values { sqlite3_finalize(old.pointer) }
            statements.removeAll(keepingCapacity: true)
        }
        statements[sql] = statement
        return statement
    }

    private func bind(_ value: SQLValue, at index: Int32, in statement: OpaquePointer) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(statement, index)
        case .integer(let integer):
            return sqlite3_bind_int64(statement, index, integer)
        case .real(let real):
            return sqlite3_bind_double(statement, index, real)
        case .text(let text):
            // The byte count keeps text with embedded NULs whole.
            return text.withCString { pointer in
                sqlite3_bind_text(statement, index, pointer, Int32(text.utf8.count), Self.transient)
            }
        case .blob(let bytes):
            return bytes.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) }
        }
    }

    private func value(at column: Int32, in statement: OpaquePointer) -> SQLValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(statement, column) else { return .text("") }
            let count = Int(sqlite3_column_bytes(statement, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard let bytes = sqlite3_column_blob(statement, column), count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }

    private func check(_ status: Int32) throws {
        if status != SQLITE_OK { throw error(status) }
    }

    private func error(_ status: Int32) -> DatabaseError {
        let message = String(cString: sqlite3_errmsg(handle))
        switch sqlite3_extended_errcode(handle) {
        case 2067 /* SQLITE_CONSTRAINT_UNIQUE */, 1555 /* SQLITE_CONSTRAINT_PRIMARYKEY */, 2579 /* SQLITE_CONSTRAINT_ROWID */:
            return .uniqueViolation(message)
        case let code where code & 0xFF == SQLITE_CANTOPEN || code & 0xFF == SQLITE_NOTADB:
            return .unavailable(message)
        default:
            return .failed("sqlite error \(sqlite3_extended_errcode(handle)): \(message)")
        }
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A statement stopped at its connection's deadline; the work is done again elsewhere.
struct SQLiteInterrupted: Error {}
