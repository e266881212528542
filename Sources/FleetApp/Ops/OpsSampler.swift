/// Turns running totals into the sparklines' points: each sample's rates are over the
/// time since the previous sample (what happened in those seconds, not since the start),
/// so that a burst shows as a peak and an idle minute as zero. Pure: the caller passes
/// the totals and the time.
struct OpsSampler: Sendable {
    struct Totals: Sendable {
        /// Milliseconds.
        var at: Int64
        /// Requests and 5xx answers since the start, by route.
        var routes: [String: (requests: Int, serverErrors: Int)]
        /// Cache lookups and those answered by L1 or L2, since the start.
        var cacheLookups: Int
        var cacheHits: Int
    }

    private var previous: Totals?

    /// The point for `current`; the first one (nothing to compare with) has zero rates.
    mutating func sample(_ current: Totals, p99: Double, queueDepth: Int, inFlight: Int) -> OpsData.Sample {
        defer { previous = current }
        guard let previous, current.at > previous.at else {
            return OpsData.Sample(at: current.at, rate: 0, errorRate: 0, p99: p99, cacheHitRatio: 0, queueDepth: queueDepth, inFlight: inFlight, routes: [:])
        }
        let seconds = Double(current.at - previous.at) / 1000
        var routes: [String: Double] = [:]
        var requests = 0
        var errors = 0
        for (route, now) in current.routes {
            let before = previous.routes[route] ?? (0, 0)
            let count = max(0, now.requests - before.requests)
            routes[route] = Double(count) / seconds
            requests += count
            errors += max(0, now.serverErrors - before.serverErrors)
        }
        let lookups = max(0, current.cacheLookups - previous.cacheLookups)
        let hits = max(0, current.cacheHits - previous.cacheHits)
        return OpsData.Sample(
            at: current.at, rate: Double(requests) / seconds, errorRate: requests == 0 ? 0 : Double(errors) / Double(requests), p99: p99,
            cacheHitRatio: lookups == 0 ? 0 : Double(hits) / Double(lookups), queueDepth: queueDepth, inFlight: inFlight, routes: routes
        )
    }
}
