/// One row of a result, read by column name or position.
public struct SQLRow: Sendable {
    /// The column names, shared by every row of one result.
    public let columns: SQLColumns
    public let values: [SQLValue]

    public init(columns: SQLColumns, values: [SQLValue]) {
        self.columns = columns
        self.values = values
    }

    /// The value of the named column, decoded.
    @inlinable
    public func decode<T: SQLDecodable>(_ column: String, as type: T.Type = T.self) throws(SQLDecodingError) -> T {
        guard let index = columns.index(of: column) else {
            throw SQLDecodingError(column: column, value: .null, expected: "a column named \(column)")
        }
        return try decode(at: index, as: type)
    }

    /// The value at a position, decoded.
    @inlinable
    public func decode<T: SQLDecodable>(at index: Int, as type: T.Type = T.self) throws(SQLDecodingError) -> T {
        do {
            return try T(sqlValue: values[index])
        } catch {
            throw SQLDecodingError(column: columns.names[index], value: error.value, expected: error.expected)
        }
    }
}

/// The names of a result's columns with a lookup table, built once per result.
public final class SQLColumns: Sendable {
    public let names: [String]
    @usableFromInline
    let positions: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (index, name) in names.enumerated() where positions[name] == nil {
            positions[name] = index
        }
        self.positions = positions
    }

    @inlinable
    public func index(of name: String) -> Int? { positions[name] }
}
