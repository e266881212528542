/// A SQL statement with its parameters kept apart from its text.
///
/// Built with string interpolation, so values can only enter as bound parameters:
///
/// ```swift
/// let query: SQLQuery = "SELECT id FROM users WHERE username = \(bind: name)"
/// ```
///
/// The placeholders are rendered for the target dialect when the query runs, which keeps
/// one query text portable between SQLite and PostgreSQL.
public struct SQLQuery: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    @usableFromInline
    enum Fragment: Sendable, Hashable {
        case sql(String)
        case bind(SQLValue)
    }

    @usableFromInline
    var fragments: [Fragment]

    public init(stringLiteral value: String) {
        self.fragments = [.sql(value)]
    }

    public init(stringInterpolation: StringInterpolation) {
        self.fragments = stringInterpolation.fragments
    }

    /// Trusted SQL text, for identifiers and fragments that the program builds itself.
    public init(unsafeSQL text: String) {
        self.fragments = [.sql(text)]
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        @usableFromInline
        var fragments: [Fragment] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            self.fragments.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            if !literal.isEmpty { self.fragments.append(.sql(literal)) }
        }

        /// A value, bound as a parameter.
        public mutating func appendInterpolation(bind value: some SQLBindable) {
            self.fragments.append(.bind(value.sqlValue))
        }

        /// An optional value, bound as a parameter (`NULL` when nil).
        public mutating func appendInterpolation<Value: SQLBindable>(bind value: Value?) {
            self.fragments.append(.bind(value?.sqlValue ?? .null))
        }

        /// A comma-separated list of bound values, for `IN (...)`. An empty list renders
        /// `NULL`, which matches nothing, so callers need no special case.
        public mutating func appendInterpolation(binds values: some Sequence<some SQLBindable>) {
            var first = true
            for value in values {
                if !first { self.fragments.append(.sql(", ")) }
                self.fragments.append(.bind(value.sqlValue))
                first = false
            }
            if first { self.fragments.append(.sql("NULL")) }
        }

        /// Another query, spliced in with its own binds.
        public mutating func appendInterpolation(_ query: SQLQuery) {
            self.fragments.append(contentsOf: query.fragments)
        }

        /// Trusted SQL text written by the program, never by a user.
        public mutating func appendInterpolation(unsafeSQL text: String) {
            self.fragments.append(.sql(text))
        }
    }

    /// Appends another query's text and binds.
    public mutating func append(_ other: SQLQuery) {
        self.fragments.append(contentsOf: other.fragments)
    }

    public static func + (lhs: SQLQuery, rhs: SQLQuery) -> SQLQuery {
        var result = lhs
        result.append(rhs)
        return result
    }

    /// The text with the dialect's placeholders, and the values in bind order.
    public func render(for dialect: SQLDialect) -> (sql: String, binds: [SQLValue]) {
        var sql = ""
        var binds: [SQLValue] = []
        for fragment in fragments {
            switch fragment {
            case .sql(let text): sql += text
            case .bind(let value):
                binds.append(value)
                sql += dialect.placeholder(binds.count)
            }
        }
        return (sql, binds)
    }

    public var description: String { render(for: .postgres).sql }
}

extension Array where Element == SQLQuery {
    /// Joins queries with a separator, such as `" AND "` between conditions.
    public func joined(separator: String) -> SQLQuery {
        var result: SQLQuery = ""
        for (index, query) in self.enumerated() {
            if index > 0 { result.append(SQLQuery(unsafeSQL: separator)) }
            result.append(query)
        }
        return result
    }
}
