/// A setting the observability layer cannot honour, said in words an operator can act on.
public struct ObservabilityError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Sendable, Equatable {
        /// A value out of its range.
        case invalidSetting
        /// Tracing asked of a build without an exporter (no `OTLP` trait).
        case exportUnavailable
    }

    public let code: Code
    public let description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
