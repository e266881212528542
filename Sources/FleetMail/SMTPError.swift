/// What went wrong sending mail: a struct with a code, so callers tell failures apart.
public struct SMTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public var description: String { raw }
        /// The server could not be reached.
        public static let connect = Code(raw: "connect")
        /// The session took longer than the configured timeout.
        public static let timeout = Code(raw: "timeout")
        /// The server answered a command with a temporary (4xx) refusal: try again later.
        public static let temporary = Code(raw: "temporary")
        /// The server answered with a permanent (5xx) refusal.
        public static let permanent = Code(raw: "permanent")
        /// The server said something this client does not understand, or hung up.
        public static let protocolError = Code(raw: "protocol")
        /// A message or setting this client refuses to send (a line break in a header).
        public static let invalid = Code(raw: "invalid")
        public static let configuration = Code(raw: "configuration")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "smtp \(code): \(message)" }
}
