public import Foundation
import FleetSupport
import Histogram
import Synchronization

/// Records every request of a run: per operation over the whole run, and per one-second
/// interval (by when the request finished) for the report's series. Requests meant to start
/// during the warm-up are counted apart and left out of both.
///
/// Shared by every task of a driver, behind one lock: a request's bookkeeping is a few
/// dictionary and histogram updates, far below the cost of the request itself.
public final class LoadRecorder: Sendable {
    private struct State {
        var operations: [String: Tally] = [:]
        var intervals: [Int: Tally] = [:]
        var live = Tally()
        var warmupRequests = 0
    }

    /// Time zero of the run (the warm-up starts here).
    public let start: ContinuousClock.Instant
    public let warmup: Duration
    private let state = Mutex(State())
    private let running = Atomic<Int>(0)

    public init(start: ContinuousClock.Instant, warmup: Duration) {
        self.start = start
        self.warmup = warmup
    }

    /// Where measurement starts: the end of the warm-up.
    public var measurementStart: ContinuousClock.Instant { start + warmup }

    /// Requests sent and not yet answered.
    public var inFlight: Int { running.load(ordering: .relaxed) }

    func began() { running.add(1, ordering: .relaxed) }
    func ended() { running.subtract(1, ordering: .relaxed) }

    /// The interval (whole seconds since measurement started) an instant falls in; nil
    /// before measurement starts.
    public static func interval(of elapsed: Duration) -> Int? {
        elapsed < .zero ? nil : Int(elapsed.inSeconds.rounded(.down))
    }

    /// Records one request: its latency runs from when it was meant to start (not when it
    /// did) to when it finished.
    public func record(_ operation: String, intended: ContinuousClock.Instant, finished: ContinuousClock.Instant, outcome: RequestOutcome) {
        let microseconds = UInt64(Swift.max(0, (finished - intended).inMicroseconds))
        let interval = Self.interval(of: finished - measurementStart)
        let measured = intended >= measurementStart
        state.withLock { state in
            state.live.add(outcome, microseconds: microseconds)
            guard measured, let interval else {
                state.warmupRequests += 1
                return
            }
            state.operations[operation, default: Tally()].add(outcome, microseconds: microseconds)
            state.intervals[interval, default: Tally()].add(outcome, microseconds: microseconds)
        }
    }

    /// What finished since the last call (warm-up included), for the progress line.
    public func takeLiveWindow() -> LiveWindow {
        let tally = state.withLock { state in
            defer { state.live = Tally() }
            return state.live
        }
        return LiveWindow(requests: tally.requests, errors: tally.errorCount, p99: LatencySummary(tally.latencies)?.p99)
    }

    /// The report of the run so far. `duration` is the measured time (after the warm-up),
    /// what rates are computed over; `parameters` describe the run for whoever reads it.
    public func report(
        duration: Duration, parameters: [String: String], objective: ServiceLevelObjective, startedAt: Date
    ) -> LoadReport {
        let (operations, intervals, warmupRequests) = state.withLock { ($0.operations, $0.intervals, $0.warmupRequests) }
        let seconds = Swift.max(duration.inSeconds, 0.001)
        var total = Tally()
        for tally in operations.values { total.add(tally) }
        let rows = operations.keys.sorted().compactMap { name in operations[name].map { OperationReport(name: name, tally: $0, seconds: seconds) } }
        let totalRow = OperationReport(name: "total", tally: total, seconds: seconds)
        let lastInterval = Swift.max(Int(seconds.rounded(.up)) - 1, intervals.keys.max() ?? 0)
        let series = (0...lastInterval).map { IntervalReport(second: $0, tally: intervals[$0] ?? Tally()) }
        return LoadReport(
            startedAt: startedAt, durationSeconds: duration.inSeconds, warmupSeconds: warmup.inSeconds, warmupRequests: warmupRequests,
            parameters: parameters, total: totalRow, operations: rows, intervals: series, slo: objective.verdict(for: totalRow)
        )
    }
}

/// The requests that finished in the last window, for the progress line.
public struct LiveWindow: Sendable {
    public let requests: Int
    public let errors: Int
    /// Milliseconds; nil when nothing succeeded.
    public let p99: Double?
}
