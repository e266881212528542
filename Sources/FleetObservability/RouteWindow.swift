import Histogram

/// One route's requests over a rolling window: a ring of `slots` intervals of
/// `interval` nanoseconds each, every interval with its count, its errors and a latency
/// histogram, plus totals since the start. The window is the current interval and the
/// `slots - 1` before it, so rates and percentiles follow the last minute or so while a
/// spike ages out slot by slot instead of all at once.
///
/// A value type with the time passed in (nanoseconds on a monotonic clock), so that the
/// arithmetic is tested without waiting; `RouteRecorder` keeps one under a lock.
struct RouteWindow {
    private var slots: [Slot]
    private let interval: UInt64
    /// The instant this window started counting: the rate of a window younger than its
    /// span is over the time it has existed.
    private let started: UInt64
    private(set) var totalRequests = 0
    private(set) var totalServerErrors = 0

    struct Slot {
        /// Which interval (`now / interval`) the slot holds; a slot from an older round of
        /// the ring is empty for the current one.
        var index: UInt64 = .max
        var requests = 0
        var serverErrors = 0
        var clientErrors = 0
        var latencies = RouteWindow.emptyHistogram()
    }

    init(slots: Int, interval: UInt64, now: UInt64) {
        precondition(slots > 0 && interval > 0, "a window needs slots of some length")
        self.slots = []
        self.slots.reserveCapacity(slots)
        for _ in 0..<slots { self.slots.append(Slot()) }
        self.interval = interval
        self.started = now
    }

    /// Latencies in microseconds, 1 µs to a minute (slower requests count as a minute),
    /// two significant digits (1 %): 32-bit counts keep a slot about 10 KB.
    static func emptyHistogram() -> Histogram<UInt32> {
        Histogram(lowestDiscernibleValue: 1, highestTrackableValue: maxMicroseconds, numberOfSignificantValueDigits: .two)
    }

    static let maxMicroseconds: UInt64 = 60_000_000

    /// Counts one request that ended at `now` with `status`, having taken `micros`.
    mutating func record(now: UInt64, status: Int, micros: UInt64) {
        let index = now / interval
        let position = Int(index % UInt64(slots.count))
        if slots[position].index != index {
            slots[position].index = index
            slots[position].requests = 0
            slots[position].serverErrors = 0
            slots[position].clientErrors = 0
            slots[position].latencies.reset()
        }
        slots[position].requests += 1
        totalRequests += 1
        if status >= 500 {
            slots[position].serverErrors += 1
            totalServerErrors += 1
        } else if status >= 400 {
            slots[position].clientErrors += 1
        }
        _ = slots[position].latencies.record(min(max(micros, 1), Self.maxMicroseconds))
    }

    /// The window's figures at `now`; `merging` collects its latencies for an overall
    /// percentile across routes.
    func summary(now: UInt64, merging all: inout Histogram<UInt32>) -> RouteSummary {
        let current = now / interval
        let oldest = current >= UInt64(slots.count - 1) ? current - UInt64(slots.count - 1) : 0
        var requests = 0
        var serverErrors = 0
        var clientErrors = 0
        var latencies = Self.emptyHistogram()
        for slot in slots where slot.index >= oldest && slot.index <= current {
            requests += slot.requests
            serverErrors += slot.serverErrors
            clientErrors += slot.clientErrors
            latencies.add(slot.latencies)
        }
        all.add(latencies)
        return RouteSummary(
            requests: requests, serverErrors: serverErrors, clientErrors: clientErrors, seconds: span(now: now),
            latencies: latencies, totalRequests: totalRequests, totalServerErrors: totalServerErrors
        )
    }

    /// How long the window covers at `now`, in seconds: the full slots before the current
    /// one and the part of the current one elapsed, no more than the window has existed.
    func span(now: UInt64) -> Double {
        let full = UInt64(slots.count - 1) * interval + now % interval
        let lived = now >= started ? now - started : 0
        return Double(max(min(full, lived), 1_000_000)) / 1e9
    }
}
