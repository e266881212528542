import Histogram

/// One route's figures over a recorder's rolling window, and its totals since the start.
public struct RouteSummary: Sendable, Equatable {
    /// Requests that ended within the window.
    public var requests: Int
    /// Of those, answered with a 5xx status: what an error rate counts.
    public var serverErrors: Int
    /// Of those, answered with a 4xx status (the client's mistake, shown apart).
    public var clientErrors: Int
    /// The span of the window, in seconds (shorter while the process is young).
    public var seconds: Double
    /// Latency percentiles in milliseconds (0 with no requests in the window).
    public var p50: Double
    public var p95: Double
    public var p99: Double
    /// Requests and 5xx answers since the recorder started.
    public var totalRequests: Int
    public var totalServerErrors: Int

    init(
        requests: Int, serverErrors: Int, clientErrors: Int, seconds: Double, latencies: Histogram<UInt32>, totalRequests: Int,
        totalServerErrors: Int
    ) {
        self.requests = requests
        self.serverErrors = serverErrors
        self.clientErrors = clientErrors
        self.seconds = seconds
        self.totalRequests = totalRequests
        self.totalServerErrors = totalServerErrors
        func milliseconds(_ percentile: Double) -> Double {
            latencies.totalCount == 0 ? 0 : Double(latencies.valueAtPercentile(percentile)) / 1000
        }
        p50 = milliseconds(50)
        p95 = milliseconds(95)
        p99 = milliseconds(99)
    }

    /// Requests per second over the window.
    public var rate: Double { seconds > 0 ? Double(requests) / seconds : 0 }

    /// The share of the window's requests answered with a 5xx status.
    public var errorRate: Double { requests == 0 ? 0 : Double(serverErrors) / Double(requests) }
}
