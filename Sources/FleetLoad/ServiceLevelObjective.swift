/// The bar a run must clear: the 95th percentile latency and the error rate over the whole
/// measured time. A benchmark or chaos test states it up front so that a run says pass or
/// fail instead of leaving a reader to judge the numbers.
public struct ServiceLevelObjective: Codable, Sendable, Equatable {
    public var p95Milliseconds: Double
    public var errorRatePercent: Double

    public init(p95Milliseconds: Double, errorRatePercent: Double) throws(LoadError) {
        guard p95Milliseconds > 0, p95Milliseconds.isFinite else { throw LoadError(.invalidArgument, "the SLO's p95 must be a positive number of milliseconds") }
        guard (0...100).contains(errorRatePercent) else { throw LoadError(.invalidArgument, "the SLO's error rate must be a percentage from 0 to 100") }
        self.p95Milliseconds = p95Milliseconds
        self.errorRatePercent = errorRatePercent
    }

    /// Pass when p95 and the error rate are both within bounds. A run with no successful
    /// request fails: it has no p95 to be within anything.
    public func verdict(for total: OperationReport) -> SLOVerdict {
        var failures: [String] = []
        let p95 = total.latencyMs?.p95
        if let p95 {
            if p95 > p95Milliseconds { failures.append("p95 \(Self.format(p95)) ms > \(Self.format(p95Milliseconds)) ms") }
        } else {
            failures.append("no successful request")
        }
        if total.errorRatePercent > errorRatePercent {
            failures.append("error rate \(Self.format(total.errorRatePercent)) % > \(Self.format(errorRatePercent)) %")
        }
        return SLOVerdict(objective: self, p95Ms: p95, errorRatePercent: total.errorRatePercent, pass: failures.isEmpty, failures: failures)
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int(rounded)) : String(rounded)
    }
}

/// The SLO, what the run measured against it, and the outcome.
public struct SLOVerdict: Codable, Sendable, Equatable {
    public var objective: ServiceLevelObjective
    public var p95Ms: Double?
    public var errorRatePercent: Double
    public var pass: Bool
    /// Why it failed, one sentence a bound; empty on a pass.
    public var failures: [String]
}
