@testable import FleetObservability
import Histogram
import Synchronization
import Testing

/// A clock the test moves by hand (monotonic nanoseconds).
private final class ManualClock: Sendable {
    private let now = Atomic<UInt64>(1_000_000_000_000)
    func read() -> UInt64 { now.load(ordering: .relaxed) }
    func advance(seconds: Double) { now.add(UInt64(seconds * 1e9), ordering: .relaxed) }
}

private let second: UInt64 = 1_000_000_000

@Suite struct RouteWindowTests {
    @Test func countsRequestsErrorsAndPercentilesWithinTheWindow() {
        var window = RouteWindow(slots: 6, interval: 10 * second, now: 0)
        // 100 requests over the first 10 s: 1..100 ms; two 5xx, three 4xx.
        for i in 1...100 {
            let status = i <= 2 ? 503 : (i <= 5 ? 404 : 200)
            window.record(now: UInt64(i) * second / 10, status: status, micros: UInt64(i) * 1000)
        }
        var all = RouteWindow.emptyHistogram()
        let summary = window.summary(now: 10 * second, merging: &all)
        #expect(summary.requests == 100)
        #expect(summary.serverErrors == 2)
        #expect(summary.clientErrors == 3)
        #expect(summary.totalRequests == 100)
        #expect(abs(summary.errorRate - 0.02) < 1e-9)
        // Two significant digits: within 1 % of the exact percentile.
        #expect(abs(summary.p50 - 50) <= 0.5 + 1e-9)
        #expect(abs(summary.p95 - 95) <= 1)
        #expect(abs(summary.p99 - 99) <= 1)
        // The window has existed 10 s: the rate is over those, not the minute.
        #expect(abs(summary.seconds - 10) < 1e-9)
        #expect(abs(summary.rate - 10) < 1e-9)
        #expect(all.totalCount == 100)
    }

    @Test func oldSlotsAgeOutButTotalsStay() {
        var window = RouteWindow(slots: 6, interval: 10 * second, now: 0)
        for _ in 0..<50 { window.record(now: 5 * second, status: 500, micros: 2000) }
        for _ in 0..<10 { window.record(now: 65 * second, status: 200, micros: 1000) }
        var all = RouteWindow.emptyHistogram()
        // At 65 s the window is 10..70 s: the first slot (0..10 s) has gone.
        let summary = window.summary(now: 65 * second, merging: &all)
        #expect(summary.requests == 10)
        #expect(summary.serverErrors == 0)
        #expect(summary.totalRequests == 60)
        #expect(summary.totalServerErrors == 50)
        #expect(abs(summary.seconds - 55) < 1e-9)  // five full slots and 5 s of the current one
        #expect(abs(summary.p99 - 1) < 0.02)
        // A slot reused by a later round of the ring starts empty.
        window.record(now: 125 * second, status: 200, micros: 3000)
        let later = window.summary(now: 125 * second, merging: &all)
        #expect(later.requests == 1)
        #expect(abs(later.p50 - 3) < 0.05)
    }

    @Test func anEmptyWindowHasZeros() {
        let window = RouteWindow(slots: 3, interval: second, now: 0)
        var all = RouteWindow.emptyHistogram()
        let summary = window.summary(now: 100 * second, merging: &all)
        #expect(summary.requests == 0 && summary.rate == 0 && summary.p99 == 0 && summary.errorRate == 0)
    }

    @Test func latenciesPastTheRangeCountAsTheMaximum() {
        var window = RouteWindow(slots: 1, interval: 10 * second, now: 0)
        window.record(now: second, status: 200, micros: 10 * RouteWindow.maxMicroseconds)
        var all = RouteWindow.emptyHistogram()
        let summary = window.summary(now: second, merging: &all)
        #expect(summary.requests == 1)
        #expect(summary.p99 >= 59_000)
    }
}

@Suite struct RouteRecorderTests {
    @Test func recordsByRouteAndMergesPercentiles() {
        let clock = ManualClock()
        let recorder = RouteRecorder(slots: 6, interval: .seconds(10), clock: { clock.read() })
        let tags = RouteKey(method: "GET", path: "/api/tags")
        let article = RouteKey(method: "GET", path: "/api/articles/{slug}")
        /// `count` requests to `route`, each taking `seconds`.
        func serve(_ count: Int, _ route: RouteKey, status: Int, seconds: Double) {
            for _ in 0..<count {
                let started = recorder.now()
                clock.advance(seconds: seconds)
                recorder.record(route: route, status: status, started: started)
            }
        }
        serve(30, tags, status: 200, seconds: 0.001)
        serve(10, article, status: 500, seconds: 0.1)
        let (routes, all) = recorder.snapshot()
        #expect(routes[tags]?.requests == 30)
        #expect(routes[article]?.serverErrors == 10)
        #expect(all.requests == 40 && all.totalRequests == 40 && all.totalServerErrors == 10)
        #expect(abs(all.errorRate - 0.25) < 1e-9)
        // p50 is a 1 ms request, p99 a 100 ms one.
        #expect(abs(all.p50 - 1) < 0.02)
        #expect(abs(all.p99 - 100) < 1)
        #expect(tags.description == "GET /api/tags")
    }

    @Test func routesPastTheBoundShareOneKey() {
        let recorder = RouteRecorder(maxRoutes: 3)
        for i in 0..<10 {
            recorder.record(route: RouteKey(method: "GET", path: "/r\(i)"), status: 200, started: recorder.now())
        }
        let (routes, all) = recorder.snapshot()
        #expect(routes.count == 4)
        #expect(routes[RouteRecorder.overflowRoute]?.requests == 7)
        #expect(all.totalRequests == 10)
    }

    /// What recording costs on the hot path (debug build, so an upper bound): printed for
    /// the record, checked only against a generous ceiling.
    @Test func recordingIsCheap() {
        let recorder = RouteRecorder()
        let keys = (0..<20).map { RouteKey(method: "GET", path: "/api/route\($0)") }
        let count = 200_000
        let started = ContinuousClock.now
        for i in 0..<count { recorder.record(route: keys[i % keys.count], status: 200, started: recorder.now()) }
        let elapsed = ContinuousClock.now - started
        let perCall = Double(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000) / Double(count)
        print("RouteRecorder.record: \(Int(perCall)) ns per request (this build)")
        #expect(perCall < 20_000)
    }
}

@Suite struct RollingHistoryTests {
    @Test func keepsTheLastSamplesOldestFirst() {
        let history = RollingHistory<Int>(capacity: 3)
        #expect(history.samples.isEmpty)
        history.append(1)
        history.append(2)
        #expect(history.samples == [1, 2])
        for i in 3...7 { history.append(i) }
        #expect(history.samples == [5, 6, 7])
    }
}
