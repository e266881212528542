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
}
