/// A request body that cannot be used, whatever it was meant to hold.
public struct RequestBodyError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private let raw: String
        /// Larger than the configured limit (`limit` bytes).
        public static let tooLarge = Code(raw: "tooLarge")
        /// A body was required and none came.
        public static let empty = Code(raw: "empty")
    }

    public let code: Code
    /// The most bytes accepted, for `tooLarge`.
    public let limit: Int?

    public static func tooLarge(limit: Int) -> RequestBodyError { RequestBodyError(code: .tooLarge, limit: limit) }
    public static let empty = RequestBodyError(code: .empty, limit: nil)

    public var description: String { code == .tooLarge ? "request body over \(limit ?? 0) bytes" : "empty request body" }
}
