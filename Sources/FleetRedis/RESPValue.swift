public import NIOCore

/// One value of the Redis serialization protocol, RESP3 or RESP2.
///
/// RESP2 replies map onto the same cases (a RESP2 nil bulk string or nil array is `.null`),
/// so callers never need to know which protocol the connection negotiated.
public enum RESPValue: Sendable, Equatable {
    case simpleString(ByteBuffer)
    case bulkString(ByteBuffer)
    /// `-ERR ...` or a RESP3 bulk error. A top-level error reply is thrown by
    /// `RedisClient.send`; inside arrays (pipelines, scripts) it stays a value.
    case error(String)
    case integer(Int64)
    case double(Double)
    case boolean(Bool)
    /// A RESP3 big number, kept as its decimal text.
    case bigNumber(String)
    case null
    case array([RESPValue])
    /// A RESP3 map, in the order the server sent it.
    case map([KeyValue])
    case set([RESPValue])
    /// Out-of-band data (pub/sub messages, invalidations); never the reply to a command.
    case push([RESPValue])

    public struct KeyValue: Sendable, Equatable {
        public var key: RESPValue
        public var value: RESPValue
    }

    /// The text of a string reply (simple, bulk or verbatim), or of an integer.
    public var string: String? {
        switch self {
        case .simpleString(let buffer), .bulkString(let buffer): String(buffer: buffer)
        case .integer(let value): String(value)
        case .bigNumber(let text): text
        default: nil
        }
    }

    /// The bytes of a string reply.
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let buffer), .bulkString(let buffer): Array(buffer.readableBytesView)
        default: nil
        }
    }

    /// An integer reply, or a string reply that holds a decimal integer (as `GET` of a
    /// counter returns).
    public var int: Int? {
        switch self {
        case .integer(let value): Int(value)
        case .simpleString, .bulkString: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array, set or push.
    public var array: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): values
        default: nil
        }
    }

    public var isNull: Bool { self == .null }
}

extension RESPValue: ExpressibleByStringLiteral {
    /// A bulk string, for tests and literals.
    public init(stringLiteral value: String) { self = .bulkString(ByteBuffer(string: value)) }
}
