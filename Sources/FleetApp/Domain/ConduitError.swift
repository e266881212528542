/// What the Conduit domain refuses, and why: a code (what kind of refusal) and messages
/// per field, the way Conduit clients show them next to each input. The domain knows
/// nothing of HTTP; `ConduitErrorResponder` maps these, and every other layer's errors,
/// to responses in one place.
public struct ConduitError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        public var description: String { raw }

        /// The input breaks a rule (422).
        public static let invalid = Code(raw: "invalid")
        /// No user, or not the right one: a missing, bad or revoked token, wrong credentials (401).
        public static let unauthenticated = Code(raw: "unauthenticated")
        /// Someone else's article or comment (403).
        public static let forbidden = Code(raw: "forbidden")
        /// No such article, comment or profile (404).
        public static let notFound = Code(raw: "notFound")
        /// A username or e-mail address already taken (409).
        public static let conflict = Code(raw: "conflict")
    }

    public let code: Code
    /// Messages per field (`"title": ["can't be blank"]`).
    public let errors: [String: [String]]

    public init(_ code: Code, _ errors: [String: [String]]) {
        self.code = code
        self.errors = errors
    }

    public init(_ code: Code, field: String, _ message: String) {
        self.init(code, [field: [message]])
    }

    public var description: String { "\(code): \(errors)" }

    static func notFound(_ what: String) -> ConduitError { ConduitError(.notFound, field: what, "not found") }
    static func forbidden(_ what: String) -> ConduitError { ConduitError(.forbidden, field: what, "forbidden") }
    static func taken(_ field: String) -> ConduitError { ConduitError(.conflict, field: field, "has already been taken") }
    static let missingToken = ConduitError(.unauthenticated, field: "token", "is missing")
    static let invalidToken = ConduitError(.unauthenticated, field: "token", "is invalid")
    static let invalidCredentials = ConduitError(.unauthenticated, field: "credentials", "invalid")
}
