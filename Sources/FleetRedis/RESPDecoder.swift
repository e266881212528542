public import NIOCore

/// Turns bytes from the server into `RESPValue`s, one complete value at a time.
///
/// `decode` returns nil, consuming nothing, until a whole value (including every element
/// of an aggregate) has arrived, so a value split across reads is reassembled by NIO's
/// cumulation buffer. Lengths are checked before anything is allocated.
public struct RESPDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = RESPValue

    /// Redis's own limit for a bulk string.
    public static let maxBulkLength = 512 * 1024 * 1024
    /// Deeper nesting than this is treated as hostile.
    public static let maxDepth = 64

    public init() {}

    public mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        var copy = buffer
        guard let value = try Self.parse(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        try decode(buffer: &buffer)
    }

    /// Parses one value from the front of `buffer`, or returns nil when it is incomplete.
    static func parse(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPValue? {
        guard depth < maxDepth else { throw RedisError.protocolError("nesting deeper than \(maxDepth)") }
        guard let marker = buffer.readInteger(as: UInt8.self), let line = try readLine(&buffer) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return .simpleString(line)
        case UInt8(ascii: "-"):
            return .error(String(buffer: line))
        case UInt8(ascii: ":"):
            return .integer(try integer(line))
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            let length = try integer(line)
            if length == -1 { return .null }
            guard (0...Int64(maxBulkLength)).contains(length) else { throw RedisError.protocolError("bad bulk length \(length)") }
            guard buffer.readableBytes >= Int(length) + 2, var payload = buffer.readSlice(length: Int(length)) else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw RedisError.protocolError("bulk string without CRLF") }
            switch marker {
            case UInt8(ascii: "!"): return .error(String(buffer: payload))
            // A verbatim string starts with its format, `txt:` or `mkd:`.
            case UInt8(ascii: "="): payload.moveReaderIndex(forwardBy: min(4, payload.readableBytes)); return .bulkString(payload)
            default: return .bulkString(payload)
            }
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            let count = try integer(line)
            if count == -1 { return .null }
            guard let elements = try aggregate(&buffer, count: count, depth: depth) else { return nil }
            switch marker {
            case UInt8(ascii: "~"): return .set(elements)
            case UInt8(ascii: ">"): return .push(elements)
            default: return .array(elements)
            }
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            let count = try integer(line)
            guard count <= Int64(maxBulkLength) / 2 else { throw RedisError.protocolError("bad map length \(count)") }
            guard let elements = try aggregate(&buffer, count: count * 2, depth: depth) else { return nil }
            if marker == UInt8(ascii: "|") {
                // Attributes describe the value that follows; Fleet has no use for them.
                return try parse(&buffer, depth: depth + 1)
            }
            return .map(stride(from: 0, to: elements.count, by: 2).map { .init(key: elements[$0], value: elements[$0 + 1]) })
        case UInt8(ascii: "_"):
            return .null
        case UInt8(ascii: "#"):
            switch String(buffer: line) {
            case "t": return .boolean(true)
            case "f": return .boolean(false)
            default: throw RedisError.protocolError("bad boolean")
            }
        case UInt8(ascii: ","):
            let text = String(buffer: line)
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let value = Double(text) else { throw RedisError.protocolError("bad double") }
                return .double(value)
            }
        case UInt8(ascii: "("):
            let text = String(buffer: line)
            guard !text.isEmpty, text.utf8.dropFirst(text.hasPrefix("-") ? 1 : 0).allSatisfy({ (48...57).contains($0) }) else {
                throw RedisError.protocolError("bad big number")
            }
            return .bigNumber(text)
        default:
            throw RedisError.protocolError("unknown type byte \(marker)")
        }
    }

    private static func aggregate(_ buffer: inout ByteBuffer, count: Int64, depth: Int) throws -> [RESPValue]? {
        guard count >= 0 else { throw RedisError.protocolError("bad aggregate length \(count)") }
        // Every element takes at least three bytes, so a count the buffer cannot hold yet
        // is incomplete, and no huge array is reserved on a hostile length.
        guard count <= Int64(buffer.readableBytes) / 3 else { return nil }
        var elements: [RESPValue] = []
        elements.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let element = try parse(&buffer, depth: depth + 1) else { return nil }
            elements.append(element)
        }
        return elements
    }

    /// The bytes up to the next CRLF (consumed), or nil when no CRLF has arrived.
    private static func readLine(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 0x0D) else {
            // Header lines are short: 64 KiB without a CRLF is garbage, not a slow server.
            if view.count > 65_536 { throw RedisError.protocolError("line without CRLF") }
            return nil
        }
        guard view.index(after: cr) < view.endIndex else { return nil }
        guard view[view.index(after: cr)] == 0x0A else { throw RedisError.protocolError("CR without LF") }
        let line = buffer.readSlice(length: cr - view.startIndex)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    private static func integer(_ line: ByteBuffer) throws -> Int64 {
        guard let value = Int64(String(buffer: line)) else { throw RedisError.protocolError("bad integer") }
        return value
    }
}
