public import Tracing

/// A job's W3C trace context (`traceparent`, `tracestate`), stored with the job when it is
/// enqueued inside a span, so the worker that runs it, in this process or another, can
/// continue the trace of the request that asked for it.
public struct JobTraceContext: Sendable, Equatable {
    public var parent: String?
    public var state: String?

    public init(parent: String? = nil, state: String? = nil) {
        self.parent = parent
        self.state = state
    }

    /// The context of `context` as the process's instrument writes it (nothing when
    /// tracing is off: the no-op instrument writes no header).
    public init(_ context: ServiceContext) {
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: Carrier())
        self.init(parent: carrier["traceparent"], state: carrier["tracestate"])
    }

    /// The enqueuing span's context, read back by the process's instrument; nil when the
    /// job carries none.
    public var serviceContext: ServiceContext? {
        guard let parent else { return nil }
        var carrier = ["traceparent": parent]
        if let state { carrier["tracestate"] = state }
        var context = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(carrier, into: &context, using: Carrier())
        return context
    }

    private struct Carrier: Injector, Extractor {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
        func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    }
}
