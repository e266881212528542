/// Why a Redis command did not produce a reply.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error reply (`ERR ...`, `NOSCRIPT ...`, `WRONGPASS ...`).
    case server(String)
    /// No reply within the command timeout. The connection is closed, since a late reply
    /// would otherwise be taken for the next command's.
    case timeout
    /// The connection closed before the reply arrived.
    case connectionClosed
    /// No connection is up right now; the client is reconnecting in the background.
    case unavailable
    /// The server sent bytes that are not RESP.
    case protocolError(String)

    public var description: String {
        switch self {
        case .server(let message): "redis: \(message)"
        case .timeout: "redis: command timed out"
        case .connectionClosed: "redis: connection closed"
        case .unavailable: "redis: unavailable"
        case .protocolError(let message): "redis: protocol error: \(message)"
        }
    }
}
