/// A value that crosses the boundary between Swift and a SQL database.
///
/// Both SQLite and PostgreSQL map onto this small set, which keeps query code free of
/// driver types: the domain binds and reads `SQLValue`s, and each driver translates them.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// A Swift type that can be bound as a query parameter.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

/// A Swift type that can be read from a result column.
public protocol SQLDecodable {
    init(sqlValue: SQLValue) throws(SQLDecodingError)
}

/// Raised when a column holds a value that the requested Swift type cannot represent.
public struct SQLDecodingError: Error, CustomStringConvertible {
    public let column: String
    public let value: SQLValue
    public let expected: String

    public init(column: String = "?", value: SQLValue, expected: String) {
        self.column = column
        self.value = value
        self.expected = expected
    }

    public var description: String { "column \(column): cannot read \(value) as \(expected)" }
}

extension SQLValue: SQLBindable, SQLDecodable {
    public var sqlValue: SQLValue { self }
    public init(sqlValue: SQLValue) { self = sqlValue }
}

extension Int64: SQLBindable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(self) }
    public init(sqlValue: SQLValue) throws(SQLDecodingError) {
        switch sqlValue {
        case .integer(let value): self = value
        case .real(let value) where value == value.rounded(): self = Int64(value)
        case .text(let text) where Int64(text) != nil: self = Int64(text)!
        default: throw SQLDecodingError(value: sqlValue, expected: "Int64")
        }
    }
}

extension Int: SQLBindable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
    public init(sqlValue: SQLValue) throws(SQLDecodingError) {
        self = Int(try Int64(sqlValue: sqlValue))
    }
}

extension Bool: SQLBindable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
    public init(sqlValue: SQLValue) throws(SQLDecodingError) {
        switch sqlValue {
        case .integer(let value): self = value != 0
        case .text(let text) where text == "t" || text == "true": self = true
        case .text(let text) where text == "f" || text == "false": self = false
        default: throw SQLDecodingError(value: sqlValue, expected: "Bool")
        }
    }
}

extension Double: SQLBindable, SQLDecodable {
    public var sqlValue: SQLValue { .real(self) }
    public init(sqlValue: SQLValue) throws(SQLDecodingError) {
        switch sqlValue {
        case .real(let value): self = value
        case .integer(let value): self = Double(value)
        default: throw SQLDecodingError(value: sqlValue, expected: "Double")
        }
    }
}

extension String: SQLBindable, SQLDecodable {
    public var sqlValue: SQLValue { .text(self) }
    public init(sqlValue: SQLValue) throws(SQLDecodingError) {
        switch sqlValue {
        case .text(let value): self = value
        case .integer(let value): self = String(value)
        case .blob(let bytes): self = String(decoding: bytes, as: UTF8.self)
        default: throw SQLDecodingError(value: sqlValue, expected: "String")
        }
    }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    public init(sqlValue: SQLValue) throws(SQLDecodingError) {
        if case .null = sqlValue { self = .none } else { self = try Wrapped(sqlValue: sqlValue) }
    }
}
