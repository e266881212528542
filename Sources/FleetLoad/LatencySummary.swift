public import Histogram

/// Percentiles of a set of latencies, in milliseconds, as the report shows them.
public struct LatencySummary: Codable, Sendable, Equatable {
    public var p50: Double
    public var p90: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double

    /// Nil for an empty histogram: no latency to speak of, rather than zeros that read as fast.
    /// The histogram holds microseconds.
    public init?(_ histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else { return nil }
        func ms(_ value: UInt64) -> Double { Double(value) / 1000 }
        p50 = ms(histogram.valueAtPercentile(50))
        p90 = ms(histogram.valueAtPercentile(90))
        p95 = ms(histogram.valueAtPercentile(95))
        p99 = ms(histogram.valueAtPercentile(99))
        p999 = ms(histogram.valueAtPercentile(99.9))
        max = ms(histogram.max)
        mean = histogram.mean / 1000
    }
}

extension Histogram<UInt64> {
    /// A histogram of microseconds that grows as it needs to (1 µs to hours), three
    /// significant digits.
    static func latencies() -> Self { Histogram(numberOfSignificantValueDigits: .three) }
}
