public import NIOCore

/// A command and its arguments, sent as a RESP array of bulk strings.
public struct RedisCommand: Sendable {
    public var arguments: [RedisArgument]

    public init(_ name: String, _ arguments: RedisArgument...) {
        self.arguments = [.string(name)] + arguments
    }

    public init(_ name: String, arguments: [RedisArgument]) {
        self.arguments = [.string(name)] + arguments
    }

    /// The command's name, for logs and metrics (never its arguments, which may be secret).
    public var name: String {
        if case .string(let name) = arguments.first { return name }
        return "?"
    }

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments { argument.encode(into: &buffer) }
    }
}

/// One argument of a command: text, bytes or an integer.
public enum RedisArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes([UInt8])
    case buffer(ByteBuffer)
    case integer(Int)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }

    fileprivate func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .string(let string):
            writeHeader(string.utf8.count, into: &buffer)
            buffer.writeString(string)
        case .bytes(let bytes):
            writeHeader(bytes.count, into: &buffer)
            buffer.writeBytes(bytes)
        case .buffer(let payload):
            writeHeader(payload.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(payload)
        case .integer(let value):
            let text = String(value)
            writeHeader(text.utf8.count, into: &buffer)
            buffer.writeString(text)
        }
        buffer.writeStaticString("\r\n")
    }

    private func writeHeader(_ length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "$"))
        buffer.writeString(String(length))
        buffer.writeStaticString("\r\n")
    }
}
