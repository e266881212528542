/// What the load generator's building blocks throw: a bad schedule, mix or SLO given on
/// the command line, or a report that could not be written. The code says which, so a
/// caller can tell them apart without parsing the message.
public struct LoadError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// An argument that does not parse or is out of range.
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        /// A report file that could not be written.
        public static let output = Code(rawValue: "output")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
