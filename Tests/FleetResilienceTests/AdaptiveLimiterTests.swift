import FleetResilience
import Testing

@Suite struct AdaptiveLimiterStateTests {
    var policy: AdaptiveLimitPolicy {
        var policy = AdaptiveLimitPolicy()
        policy.initialLimit = 20
        policy.minimumLimit = 2
        policy.windowDuration = .milliseconds(100)
        policy.windowSamples = 5
        return policy
    }

    /// Runs `windows` windows with the limit's slots all busy, every call taking `latency`.
    func drive(_ state: inout AdaptiveLimiterState, windows: Int, latency: Duration, from start: inout ContinuousClock.Instant) {
        for _ in 0..<windows {
            var admitted = 0
            while state.tryAcquire() { admitted += 1 }
            start += .milliseconds(101)
            for _ in 0..<admitted { state.release(.success(latency), now: start) }
        }
    }

    @Test func refusesPastTheLimitAndKeepsAShareForHighPriority() {
        var state = AdaptiveLimiterState(policy: policy)
        var low = 0
        while state.tryAcquire(share: 0.75) { low += 1 }
        #expect(low == 15)
        var high = 0
        while state.tryAcquire() { high += 1 }
        #expect(high == 5 && state.inFlight == 20)
    }

    @Test func growsWhileLatencyHoldsAndShrinksWhenItRises() {
        var state = AdaptiveLimiterState(policy: policy)
        var now = ContinuousClock.now
        drive(&state, windows: 20, latency: .milliseconds(10), from: &now)
        let grown = state.limit
        #expect(grown > 40)
        // Latency triples: queueing has begun, so the limit comes down.
        drive(&state, windows: 10, latency: .milliseconds(30), from: &now)
        #expect(state.limit < grown * 0.75)
    }

    @Test func aStandingQueueInFrontShrinksTheLimit() {
        var state = AdaptiveLimiterState(policy: policy)
        var now = ContinuousClock.now
        drive(&state, windows: 5, latency: .milliseconds(10), from: &now)
        let before = state.limit
        // Latency inside holds, but the process is saturated in front of the limit.
        let admitted = state.tryAcquire()
        #expect(admitted)
        state.queueStanding()
        now += .milliseconds(101)
        state.release(.success(.milliseconds(10)), now: now)
        #expect(state.limit == before * 0.9)
    }

    @Test func anIdleServiceDoesNotGrowItsLimit() {
        var state = AdaptiveLimiterState(policy: policy)
        var now = ContinuousClock.now
        for _ in 0..<50 {
            // Two calls at a time: far below half the limit.
            _ = state.tryAcquire()
            _ = state.tryAcquire()
            now += .milliseconds(101)
            for _ in 0..<5 {
                state.release(.success(.milliseconds(5)), now: now)
                _ = state.tryAcquire()
            }
            state.release(.success(.milliseconds(5)), now: now)
            state.release(.success(.milliseconds(5)), now: now)
        }
        #expect(state.inFlight == 0)
        #expect(state.limit == 20)
    }

    @Test func dropsShrinkItAndCancellationsOnlyFreeTheSlot() {
        var state = AdaptiveLimiterState(policy: policy)
        var now = ContinuousClock.now
        _ = state.tryAcquire()
        _ = state.tryAcquire()
        state.release(.ignored, now: now + .seconds(1))
        #expect(state.limit == 20 && state.inFlight == 1)
        state.release(.dropped, now: now)
        #expect(state.limit == 20)  // the window has only begun
        _ = state.tryAcquire()
        now += .milliseconds(200)
        state.release(.dropped, now: now)
        #expect(state.limit == 18)
        #expect(state.inFlight == 0)
        for _ in 0..<100 {
            _ = state.tryAcquire()
            now += .milliseconds(200)
            state.release(.dropped, now: now)
        }
        #expect(state.limit == 2)
    }
}
