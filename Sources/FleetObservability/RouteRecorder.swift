import FleetSupport
import Histogram
import Synchronization

/// Requests per route over the last minute, in process: counts, 4xx and 5xx answers and
/// latency percentiles (HdrHistogram, 1 %), for the ops page. Prometheus keeps the
/// long-term series; this answers "what is this instance doing right now" without one.
///
/// Routes are templates (`GET /api/articles/{slug}`), never raw paths, and at most
/// `maxRoutes` are kept (later ones count under `other`), so memory stays bounded
/// whatever clients send. Each route is a `RouteWindow` under its own lock: recording
/// takes the map's lock for a lookup, then the route's for a few additions, and
/// allocates nothing once a route has been seen.
public final class RouteRecorder: Sendable {
    /// The key routes past `maxRoutes` are counted under.
    public static let overflowRoute = RouteKey(method: "*", path: "other")

    public let slots: Int
    public let interval: Duration
    public let maxRoutes: Int
    private let intervalNanoseconds: UInt64
    private let routes = Mutex<[RouteKey: Route]>([:])
    private let clock: @Sendable () -> UInt64

    private final class Route: Sendable {
        let window: Mutex<RouteWindow>
        init(_ window: RouteWindow) { self.window = Mutex(window) }
    }

    /// - Parameters:
    ///   - slots, interval: the window is `slots` intervals long (6 × 10 s: the last minute).
    ///   - clock: monotonic nanoseconds (the machine's by default; tests pass their own).
    public init(
        slots: Int = 6, interval: Duration = .seconds(10), maxRoutes: Int = 200,
        clock: (@Sendable () -> UInt64)? = nil
    ) {
        precondition(slots > 0 && interval > .zero && maxRoutes > 0, "a recorder needs a window and routes")
        self.slots = slots
        self.interval = interval
        self.maxRoutes = maxRoutes
        self.intervalNanoseconds = UInt64(interval.components.seconds) * 1_000_000_000 + UInt64(interval.components.attoseconds / 1_000_000_000)
        self.clock = clock ?? { MonotonicClock.nanoseconds() }
    }

    /// Monotonic nanoseconds now, for a caller timing a request.
    public func now() -> UInt64 { clock() }

    /// Counts one request to `route` that ended now with `status`, having started at
    /// `started` (from `now()`).
    public func record(route: RouteKey, status: Int, started: UInt64) {
        let now = clock()
        let entry = routes.withLock { routes -> Route in
            if let existing = routes[route] { return existing }
            let key = routes.count < maxRoutes ? route : Self.overflowRoute
            if let existing = routes[key] { return existing }
            let made = Route(RouteWindow(slots: slots, interval: intervalNanoseconds, now: now))
            routes[key] = made
            return made
        }
        let micros = now > started ? (now - started) / 1000 : 0
        entry.window.withLock { $0.record(now: now, status: status, micros: micros) }
    }

    /// Every route's figures now, by route, and all routes together.
    public func snapshot() -> (routes: [RouteKey: RouteSummary], all: RouteSummary) {
        let now = clock()
        let entries = routes.withLock { $0 }
        var merged = RouteWindow.emptyHistogram()
        var summaries: [RouteKey: RouteSummary] = [:]
        for (route, entry) in entries {
            summaries[route] = entry.window.withLock { $0.summary(now: now, merging: &merged) }
        }
        let values = summaries.values
        let span = values.map(\.seconds).max() ?? 1
        let all = RouteSummary(
            requests: values.reduce(0) { $0 + $1.requests }, serverErrors: values.reduce(0) { $0 + $1.serverErrors },
            clientErrors: values.reduce(0) { $0 + $1.clientErrors }, seconds: span, latencies: merged,
            totalRequests: values.reduce(0) { $0 + $1.totalRequests }, totalServerErrors: values.reduce(0) { $0 + $1.totalServerErrors }
        )
        return (summaries, all)
    }
}
