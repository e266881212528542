/// Why a cache operation did not do all it was asked: a struct with a code, so that
/// callers tell failures apart by `code` and new codes can come without breaking them.
public struct CacheError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        public var description: String { raw }

        /// An invalidation was applied here but could not be published (Redis unreachable,
        /// or its breaker open): other instances may still hold the old value in L1, and
        /// L2 is bypassed here until renewed. The caller must publish it again later.
        public static let notPublished = Code(raw: "notPublished")
    }

    public let code: Code
    /// What failed, for logs.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "cache: \(code): \(message)" }
}
