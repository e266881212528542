/// The decisions of a bulkhead, without clocks, locks or tasks: at most `maxConcurrent`
/// calls run at once, at most `maxWaiting` more wait in arrival order, and anything
/// beyond that is refused at once. A refusal the caller sees immediately (a 503 with
/// `Retry-After`) is better than a queue nobody bounds: the waits of a full queue grow
/// until every client times out, and the work done for them is wasted.
///
/// The async shell (`Bulkhead`) keeps one of these under a lock and acts on what it says.
public struct BulkheadState: Sendable {
    public let maxConcurrent: Int
    public let maxWaiting: Int
    /// Calls holding a permit.
    public private(set) var running = 0
    /// Waiting callers, oldest first (a ring would avoid the shifts; queues here are short).
    public private(set) var waiting: [UInt64] = []

    public init(maxConcurrent: Int, maxWaiting: Int) {
        precondition(maxConcurrent >= 1 && maxWaiting >= 0, "a bulkhead needs at least one permit")
        self.maxConcurrent = maxConcurrent
        self.maxWaiting = maxWaiting
    }

    public enum Admission: Sendable, Equatable {
        /// Run now: the caller holds a permit until it calls `finish()`.
        case run
        /// Wait: the caller is started by a later `finish()`, or leaves with `cancel(_:)`.
        case wait
        /// Full: the caller must not wait.
        case refuse
    }

    /// A caller (`id`, unique among those waiting) asks to run.
    public mutating func arrive(_ id: UInt64) -> Admission {
        if running < maxConcurrent, waiting.isEmpty {
            running += 1
            return .run
        }
        guard waiting.count < maxWaiting else { return .refuse }
        waiting.append(id)
        return .wait
    }

    /// A running call gave its permit back; returns the waiter that takes it over, if any
    /// (the permit passes to it directly, so a newcomer cannot overtake the queue).
    public mutating func finish() -> UInt64? {
        precondition(running > 0, "finish() without a running call")
        guard !waiting.isEmpty else {
            running -= 1
            return nil
        }
        return waiting.removeFirst()
    }

    /// A waiter gave up (cancelled). False when it is not waiting any more: it was started
    /// meanwhile and holds a permit that it must give back with `finish()`.
    public mutating func cancel(_ id: UInt64) -> Bool {
        guard let index = waiting.firstIndex(of: id) else { return false }
        waiting.remove(at: index)
        return true
    }
}
