/// The recent calls a circuit breaker judges by: either the last `n` calls (count-based)
/// or the calls of the last `n` seconds (time-based, in one-second buckets so that memory
/// does not grow with the call rate). Pure: time is passed in as seconds.
public struct OutcomeWindow: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The last `n` calls.
        case count(Int)
        /// The calls of the last `n` seconds.
        case time(seconds: Int)
    }

    /// Totals over the window.
    public struct Totals: Sendable, Equatable {
        public var calls = 0
        public var failures = 0
        public var slow = 0

        public init(calls: Int = 0, failures: Int = 0, slow: Int = 0) {
            self.calls = calls
            self.failures = failures
            self.slow = slow
        }

        public var failureRate: Double { calls == 0 ? 0 : Double(failures) / Double(calls) }
        public var slowRate: Double { calls == 0 ? 0 : Double(slow) / Double(calls) }

        fileprivate mutating func add(_ other: Totals, sign: Int = 1) {
            calls += sign * other.calls
            failures += sign * other.failures
            slow += sign * other.slow
        }
    }

    public let kind: Kind
    /// One slot per call (count-based) or per second (time-based), used as a ring.
    private var slots: [Totals]
    /// The second each slot holds (time-based only).
    private var slotSecond: [Int64]
    private var next = 0
    public private(set) var totals = Totals()

    public init(_ kind: Kind) {
        self.kind = kind
        let size: Int
        switch kind {
        case .count(let n): size = max(1, n)
        case .time(let seconds): size = max(1, seconds)
        }
        slots = Array(repeating: Totals(), count: size)
        slotSecond = Array(repeating: .min, count: size)
    }

    /// Adds one call's outcome at `second` (ignored by count-based windows).
    public mutating func record(failed: Bool, slow: Bool, at second: Int64) {
        let call = Totals(calls: 1, failures: failed ? 1 : 0, slow: slow ? 1 : 0)
        switch kind {
        case .count:
            totals.add(slots[next], sign: -1)
            slots[next] = call
            next = (next + 1) % slots.count
            totals.add(call)
        case .time:
            expire(before: second)
            let index = Int(UInt64(bitPattern: second) % UInt64(slots.count))
            if slotSecond[index] != second {
                totals.add(slots[index], sign: -1)
                slots[index] = Totals()
                slotSecond[index] = second
            }
            slots[index].add(call)
            totals.add(call)
        }
    }

    /// The totals as of `second`: time-based windows drop what is older than the window.
    public mutating func current(at second: Int64) -> Totals {
        if case .time = kind { expire(before: second) }
        return totals
    }

    /// Forgets everything (a breaker that closes starts a fresh window).
    public mutating func reset() {
        self = OutcomeWindow(kind)
    }

    private mutating func expire(before second: Int64) {
        let oldest = second - Int64(slots.count) + 1
        for index in slots.indices where slotSecond[index] != .min && slotSecond[index] < oldest {
            totals.add(slots[index], sign: -1)
            slots[index] = Totals()
            slotSecond[index] = .min
        }
    }
}
