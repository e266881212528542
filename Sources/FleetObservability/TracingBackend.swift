public import Logging
public import ServiceLifecycle
import Tracing
#if OTLP
import OTel
#endif

/// The process's tracer, once bootstrapped: the service that batches and exports spans
/// (run it in the application's `ServiceGroup` so the last batch is flushed on shutdown),
/// and the log metadata provider that puts `trace_id` and `span_id` on every log line
/// written inside a span.
public struct TracingBackend: Sendable {
    public let service: any Service
    public let logMetadata: Logger.MetadataProvider

    /// Installs the OTLP tracer as the process's `InstrumentationSystem`, with W3C trace
    /// context propagation (`traceparent`, `tracestate`) and parent-based ratio sampling.
    /// Returns nil when tracing is off: every span is then swift-distributed-tracing's
    /// no-op, and nothing is propagated.
    public static func bootstrap(_ options: TracingOptions) throws -> TracingBackend? {
        guard options.enabled else { return nil }
        guard (0...1).contains(options.sampleRatio) else {
            throw ObservabilityError(.invalidSetting, "tracing.sample.ratio must be between 0 and 1")
        }
        #if OTLP
        var configuration = OTel.Configuration.default
        configuration.serviceName = options.serviceName
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.sampler = .parentBasedTraceIDRatio(ratio: options.sampleRatio) ?? .parentBasedAlwaysOn
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        configuration.traces.otlpExporter.endpoint = options.endpoint.hasSuffix("/") ? options.endpoint + "v1/traces" : options.endpoint + "/v1/traces"
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(500)
        configuration.diagnosticLogLevel = .warning
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return TracingBackend(service: backend.service, logMetadata: OTel.makeLoggingMetadataProvider())
        #else
        throw ObservabilityError(
            .exportUnavailable,
            "tracing.enabled: this build cannot export traces; build with `swift build --traits OTLP` (see the README, Operating Fleet)"
        )
        #endif
    }
}
