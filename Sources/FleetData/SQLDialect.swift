/// The SQL dialects Fleet speaks. Every difference between them that query code would
/// otherwise have to know lives here, so that one query text serves both databases.
public enum SQLDialect: String, Sendable, CaseIterable {
    case sqlite
    case postgres

    /// The placeholder for the bind at `position` (1-based).
    @inlinable
    public func placeholder(_ position: Int) -> String {
        switch self {
        case .sqlite: "?\(position)"
        case .postgres: "$\(position)"
        }
    }

    /// The column type for 64-bit integers (IDs, millisecond timestamps).
    public var bigint: String {
        switch self {
        case .sqlite: "INTEGER"
        case .postgres: "BIGINT"
        }
    }

    /// Appended to a `SELECT` inside a transaction to lock the rows it reads against
    /// concurrent writers (PostgreSQL). SQLite needs none: its write transactions run one
    /// at a time.
    public var forUpdate: String { self == .postgres ? " FOR UPDATE" : "" }

    /// Appended to a `SELECT` inside a transaction to lock its rows one after another in
    /// the code-point order of `column` (UTF-8 byte order, whatever the database's
    /// collation): writers that lock rows in that same order never deadlock. SQLite
    /// needs no locks; it orders all the same.
    public func lockInOrder(_ column: String) -> String {
        self == .postgres ? "ORDER BY \(column) COLLATE \"C\" FOR UPDATE" : "ORDER BY \(column)"
    }
}
