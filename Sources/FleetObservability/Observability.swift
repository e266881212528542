public import Logging
import Metrics
public import Prometheus

/// Process-wide logging and metrics, set up once by the executable.
public enum Observability {
    /// Bootstraps swift-log (to standard error, at `level`, as text or JSON, with the
    /// trace and span ids of the current span when tracing is on) and swift-metrics (into
    /// a Prometheus registry, with OpenTelemetry names turned into Prometheus ones).
    /// Returns the registry that `/metrics` renders.
    public static func bootstrap(
        logLevel: Logger.Level, format: LogFormat = .text, tracing: TracingBackend? = nil
    ) -> PrometheusCollectorRegistry {
        let provider = tracing?.logMetadata
        LoggingSystem.bootstrap({ label, _ in FleetLogHandler(label: label, level: logLevel, format: format, metadataProvider: provider) }, metadataProvider: provider)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(makeMetricsFactory(registry: registry))
        return registry
    }

    /// A Prometheus factory with Fleet's naming rules and latency buckets (0.5 ms .. 10 s),
    /// usable on its own in tests without touching the global bootstrap.
    public static func makeMetricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
        ]
        factory.nameAndLabelSanitizer = { name, labels in
            (PrometheusNaming.metricName(name), labels.map { (PrometheusNaming.labelName($0.0), $0.1) })
        }
        return factory
    }
}

/// Turns OpenTelemetry-style names (`http.server.request.duration`) into Prometheus
/// ones (`http_server_request_duration_seconds`): dots become underscores and durations
/// carry their unit, as the OpenTelemetry-to-Prometheus mapping prescribes.
public enum PrometheusNaming {
    public static func metricName(_ name: String) -> String {
        var result = labelName(name)
        if timeSuffixes.contains(where: name.hasSuffix) { result += "_seconds" }
        return result
    }

    /// OpenTelemetry's time-valued metric names, all measured in seconds.
    static let timeSuffixes = [".duration", ".wait_time", ".use_time", ".create_time"]

    public static func labelName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}
