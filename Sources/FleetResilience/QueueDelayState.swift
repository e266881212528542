/// Refuses work that waited too long before anyone could look at it, by CoDel's rule
/// (Nichols and Jacobson, "Controlling Queue Delay", 2012, applied to server queues as
/// in Facebook's "Fail at Scale"): without clocks, locks or tasks.
///
/// A concurrency limit sees only the work it admits; when the process itself is
/// saturated, requests wait *in front of* it (socket buffers, the event loop, the task
/// executor) and the limit never learns of it. The wait itself is the signal: a burst
/// makes some requests wait and drains; a standing queue makes even the *shortest* wait
/// of an interval exceed the target. While one stands, anything that waited past the
/// target is refused (cheaply, before its work), so the queue drains instead of making
/// every request late. Outside a standing queue nothing is refused for its wait: a burst
/// is the concurrency limit's business. An interval with fewer than `minimumRequests`
/// requests never counts as standing, so that a few requests slowed by a busy machine
/// (a descheduled process, a test run beside others) are not mistaken for overload.
public struct QueueDelayState: Sendable {
    public struct Policy: Sendable, Equatable {
        /// The wait a standing queue is cut back to.
        public var target: Duration
        /// How long the shortest wait must stay above the target to count as standing.
        public var interval: Duration
        /// The fewest requests an interval needs to count as standing.
        public var minimumRequests: Int

        public init(target: Duration = .milliseconds(5), interval: Duration = .milliseconds(100), minimumRequests: Int = 20) {
            self.target = target
            self.interval = interval
            self.minimumRequests = minimumRequests
        }
    }

    public let policy: Policy
    /// Whether the last interval's shortest wait exceeded the target.
    public private(set) var standing = false
    private var intervalEnd: ContinuousClock.Instant?
    private var shortestWait: Duration?
    private var requests = 0

    public init(policy: Policy = .init()) {
        self.policy = policy
    }

    /// Whether a request that waited `waited` may go on; `allowance` scales the bound for
    /// more important requests (2 lets them wait twice as long before they are refused).
    public mutating func admit(waited: Duration, allowance: Double = 1, now: ContinuousClock.Instant) -> Bool {
        if let end = intervalEnd {
            if now >= end {
                // A whole interval without requests since: nothing is queued.
                let idle = now >= end.advanced(by: policy.interval)
                standing = !idle && requests >= policy.minimumRequests && (shortestWait ?? .zero) > policy.target
                shortestWait = nil
                requests = 0
                intervalEnd = now.advanced(by: policy.interval)
            }
        } else {
            intervalEnd = now.advanced(by: policy.interval)
        }
        shortestWait = min(shortestWait ?? waited, waited)
        requests += 1
        return !standing || waited <= policy.target * allowance
    }
}
