/// Why a Redis command did not produce a reply: a struct with a code, so that callers
/// tell failures apart by `code` and new codes can come without breaking them.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        public var description: String { raw }

        /// The server answered with an error reply (`ERR ...`, `NOSCRIPT ...`, `WRONGPASS ...`).
        public static let server = Code(raw: "server")
        /// No reply within the command timeout. The connection is closed, since a late reply
        /// would otherwise be taken for the next command's.
        public static let timeout = Code(raw: "timeout")
        /// The connection closed before the reply arrived.
        public static let connectionClosed = Code(raw: "connectionClosed")
        /// No connection is up right now; the client is reconnecting in the background.
        public static let unavailable = Code(raw: "unavailable")
        /// The server sent bytes that are not RESP, or a reply of an unexpected shape.
        public static let protocolError = Code(raw: "protocolError")
        /// A setting that cannot be used (a malformed `redis://` URL).
        public static let configuration = Code(raw: "configuration")
    }

    public let code: Code
    /// The server's error reply, or what was wrong.
    public let message: String

    public init(_ code: Code, _ message: String = "") {
        self.code = code
        self.message = message
    }

    public static func server(_ message: String) -> RedisError { RedisError(.server, message) }
    public static let timeout = RedisError(.timeout, "command timed out")
    public static let connectionClosed = RedisError(.connectionClosed, "connection closed")
    public static let unavailable = RedisError(.unavailable, "unavailable")
    public static func protocolError(_ message: String) -> RedisError { RedisError(.protocolError, message) }
    public static func configuration(_ message: String) -> RedisError { RedisError(.configuration, message) }

    /// An error reply whose first word is `prefix` (`NOSCRIPT`, `NOPROTO`).
    public func isServerError(_ prefix: String) -> Bool { code == .server && message.hasPrefix(prefix) }

    public var description: String {
        switch code {
        case .server: "redis: \(message)"
        case .protocolError: "redis: protocol error: \(message)"
        case .configuration: "redis: configuration: \(message)"
        default: "redis: \(message)"
        }
    }
}
