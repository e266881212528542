public import Foundation

/// The machine-readable result of a run: written as `report.json`, read by the Markdown
/// summary, the plots and by tests that assert on a run.
public struct LoadReport: Codable, Sendable {
    public var startedAt: Date
    /// Measured time, after the warm-up.
    public var durationSeconds: Double
    public var warmupSeconds: Double
    /// Requests meant to start during the warm-up (left out of everything else).
    public var warmupRequests: Int
    /// How the run was set up (model, rate, targets, mix, ...), as given.
    public var parameters: [String: String]
    /// Every operation together.
    public var total: OperationReport
    /// One row per operation, by name.
    public var operations: [OperationReport]
    /// One entry per second of the measured time (and any tail of late answers).
    public var intervals: [IntervalReport]
    public var slo: SLOVerdict

    /// Pretty, key-sorted JSON: diffs between two runs' reports stay readable.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> LoadReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(LoadReport.self, from: data)
    }
}

/// One operation over the whole measured time.
public struct OperationReport: Codable, Sendable {
    public var name: String
    /// Requests finished (answered or failed, dropped ones included).
    public var requests: Int
    public var errors: Int
    /// Errors by kind (`http 503`, `timeout`, `dropped`, ...).
    public var errorsByKind: [String: Int]
    /// Requests per second over the measured time.
    public var rate: Double
    /// Errors over requests, in percent.
    public var errorRatePercent: Double
    /// Of the successful requests; nil when none succeeded.
    public var latencyMs: LatencySummary?

    init(name: String, tally: Tally, seconds: Double) {
        self.name = name
        requests = tally.requests
        errors = tally.errorCount
        errorsByKind = tally.errors
        rate = Double(tally.requests) / seconds
        errorRatePercent = tally.requests == 0 ? 0 : 100 * Double(errors) / Double(tally.requests)
        latencyMs = LatencySummary(tally.latencies)
    }
}

/// One second of the run: the series the plots draw.
public struct IntervalReport: Codable, Sendable {
    /// Seconds since measurement started.
    public var second: Int
    public var requests: Int
    public var errors: Int
    public var errorsByKind: [String: Int]
    public var p50Ms: Double?
    public var p95Ms: Double?
    public var p99Ms: Double?
    public var maxMs: Double?

    init(second: Int, tally: Tally) {
        self.second = second
        requests = tally.requests
        errors = tally.errorCount
        errorsByKind = tally.errors
        let latency = LatencySummary(tally.latencies)
        p50Ms = latency?.p50
        p95Ms = latency?.p95
        p99Ms = latency?.p99
        maxMs = latency?.max
    }
}
