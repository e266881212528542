import Histogram

/// Requests counted for one operation or one interval: how many, which errors, and the
/// latencies of the ones that succeeded (microseconds). Failed requests are counted, not
/// timed: a fast 503 would otherwise pull the percentiles down.
struct Tally: Sendable {
    var requests = 0
    var errors: [String: Int] = [:]
    var latencies = Histogram<UInt64>.latencies()

    var errorCount: Int { errors.values.reduce(0, +) }

    mutating func add(_ outcome: RequestOutcome, microseconds: UInt64) {
        requests += 1
        switch outcome {
        case .success: latencies.record(Swift.max(1, microseconds))
        case .failure(let kind): errors[kind, default: 0] += 1
        }
    }

    mutating func add(_ other: Tally) {
        requests += other.requests
        errors.merge(other.errors, uniquingKeysWith: +)
        latencies.add(other.latencies)
    }
}
