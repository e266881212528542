/// What the tracing settings ask for: whether spans are recorded, how many traces are
/// kept, and where they are sent.
public struct TracingOptions: Sendable, Equatable {
    public var enabled: Bool
    /// The share of new traces recorded (0...1). A request that arrives with a sampled
    /// `traceparent` is recorded whatever this is (parent-based sampling), so a trace that
    /// a caller started is never cut in the middle.
    public var sampleRatio: Double
    /// The OTLP/HTTP collector's base URL; spans go to `<endpoint>/v1/traces`.
    public var endpoint: String
    /// `service.name` on every span: which role produced it (`fleet-api`, `fleet-worker`).
    public var serviceName: String

    public init(enabled: Bool = false, sampleRatio: Double = 0.01, endpoint: String = "http://127.0.0.1:4318", serviceName: String = "fleet") {
        self.enabled = enabled
        self.sampleRatio = sampleRatio
        self.endpoint = endpoint
        self.serviceName = serviceName
    }

    /// Whether this build can export spans (built with `--traits OTLP`).
    public static var exportAvailable: Bool {
        #if OTLP
        true
        #else
        false
        #endif
    }
}
