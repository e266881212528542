import FleetSupport
import Foundation

/// A rate that holds from `start` (from the beginning of the run) until the next step.
public struct RateStep: Sendable, Equatable {
    public let start: Duration
    public let perSecond: Double

    public init(start: Duration, perSecond: Double) {
        self.start = start
        self.perSecond = perSecond
    }
}

/// When each request of an open-model run is meant to start, as offsets from the
/// beginning of the run: evenly spaced at a rate that may change in steps.
///
/// The open model sends on this schedule whatever the server does: a slow answer does not
/// delay the next request (as it would in a closed loop, "coordinated omission"), and each
/// latency is measured from the intended start, so time spent queued behind a stall counts.
/// The n-th arrival (from 0) is where the integral of the rate reaches n.
public struct ArrivalSchedule: Sequence, Sendable {
    public let steps: [RateStep]
    public let length: Duration

    /// Steps sorted by start; the first should start at zero (before it, no requests).
    public init(steps: [RateStep], length: Duration) throws(LoadError) {
        guard !steps.isEmpty else { throw LoadError(.invalidArgument, "a schedule needs at least one rate") }
        guard steps.allSatisfy({ $0.perSecond >= 0 && $0.perSecond.isFinite && $0.start >= .zero }) else {
            throw LoadError(.invalidArgument, "rates and their start times must be finite and not negative")
        }
        guard length > .zero else { throw LoadError(.invalidArgument, "a schedule needs a positive length") }
        self.steps = steps.sorted { $0.start < $1.start }
        self.length = length
    }

    /// One rate for the whole run.
    public init(perSecond: Double, length: Duration) throws(LoadError) {
        try self.init(steps: [RateStep(start: .zero, perSecond: perSecond)], length: length)
    }

    /// Parses `200` (one rate) or `0:50,10:200,20:100` (seconds from the start, then the
    /// rate from there on).
    public static func steps(parsing text: String) throws(LoadError) -> [RateStep] {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 1, !parts[0].contains(":") {
            guard let rate = Double(parts[0]), rate > 0 else { throw LoadError(.invalidArgument, "rate '\(text)' is not a positive number") }
            return [RateStep(start: .zero, perSecond: rate)]
        }
        var steps: [RateStep] = []
        for part in parts {
            let pair = part.split(separator: ":")
            guard pair.count == 2, let seconds = Double(pair[0]), let rate = Double(pair[1]), seconds >= 0, rate >= 0 else {
                throw LoadError(.invalidArgument, "rate step '\(part)' is not SECONDS:RATE")
            }
            steps.append(RateStep(start: .seconds(seconds), perSecond: rate))
        }
        guard steps.first?.start == .zero else { throw LoadError(.invalidArgument, "the first rate step must start at 0") }
        return steps
    }

    /// The rate in force at `offset`.
    public func rate(at offset: Duration) -> Double {
        steps.last { $0.start <= offset }?.perSecond ?? 0
    }

    /// How many arrivals the schedule holds.
    public var count: Int {
        var total = 0
        for _ in self { total += 1 }
        return total
    }

    public func makeIterator() -> Iterator { Iterator(self) }

    public struct Iterator: IteratorProtocol, Sendable {
        private let starts: [Double]
        private let ends: [Double]
        private let rates: [Double]
        private var step = 0
        /// Arrivals before the current step.
        private var before = 0.0
        /// Arrivals of the current step handed out so far.
        private var within = 0.0

        init(_ schedule: ArrivalSchedule) {
            let length = schedule.length.inSeconds
            starts = schedule.steps.map { $0.start.inSeconds }
            ends = starts.dropFirst().map { Swift.min($0, length) } + [length]
            rates = schedule.steps.map(\.perSecond)
        }

        public mutating func next() -> Duration? {
            while step < rates.count {
                let rate = rates[step]
                if rate > 0 {
                    // The arrivals of a step are where the step's count reaches a whole number,
                    // continuing the fraction the steps before left over.
                    let first = (before.rounded(.up) - before)
                    let offset = starts[step] + (first + within) / rate
                    if offset < ends[step] {
                        within += 1
                        return .seconds(offset)
                    }
                    before += rate * Swift.max(0, ends[step] - starts[step])
                    // 20/s for 1.5 s is 30 arrivals, not 30.000000001 (which would skip one).
                    if abs(before - before.rounded()) < 1e-9 { before = before.rounded() }
                }
                step += 1
                within = 0
            }
            return nil
        }
    }
}
