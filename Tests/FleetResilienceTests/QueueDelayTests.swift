import FleetResilience
import Testing

@Suite struct QueueDelayStateTests {
    let policy = QueueDelayState.Policy(target: .milliseconds(5), interval: .milliseconds(100))

    /// Offers one request a millisecond for `milliseconds`, each having waited `wait(i)`;
    /// returns how many were admitted.
    func offer(_ state: inout QueueDelayState, for milliseconds: Int, from now: inout ContinuousClock.Instant, allowance: Double = 1, wait: (Int) -> Duration) -> Int {
        var admitted = 0
        for i in 0..<milliseconds {
            if state.admit(waited: wait(i), allowance: allowance, now: now) { admitted += 1 }
            now += .milliseconds(1)
        }
        return admitted
    }

    @Test func aBurstThatDrainsIsNotAStandingQueue() {
        var state = QueueDelayState(policy: policy)
        var now = ContinuousClock.now
        // Every interval has some requests waiting 40 ms, but also some that did not wait.
        let admitted = offer(&state, for: 1_000, from: &now) { i in i % 10 == 0 ? .zero : .milliseconds(40) }
        #expect(admitted == 1_000)
        #expect(!state.standing)
    }

    @Test func aStandingQueueIsCutBackToTheTarget() {
        var state = QueueDelayState(policy: policy)
        var now = ContinuousClock.now
        // The first interval only observes.
        let admitted1 = offer(&state, for: 100, from: &now) { _ in .milliseconds(8) }
        #expect(admitted1 == 100)
        // From then on the shortest wait stayed above 5 ms: 8 ms waits are refused,
        // 4 ms ones still pass.
        let admitted2 = offer(&state, for: 100, from: &now) { _ in .milliseconds(8) }
        #expect(admitted2 == 0)
        #expect(state.standing)
        let admitted3 = offer(&state, for: 100, from: &now) { i in i % 2 == 0 ? .milliseconds(4) : .milliseconds(8) }
        #expect(admitted3 == 50)
        // That interval saw 4 ms waits: no queue stands any more.
        let admitted4 = offer(&state, for: 100, from: &now) { _ in .milliseconds(8) }
        #expect(admitted4 == 100)
        #expect(!state.standing)
    }

    @Test func moreImportantRequestsMayWaitLonger() {
        var state = QueueDelayState(policy: policy)
        var now = ContinuousClock.now
        _ = offer(&state, for: 100, from: &now) { _ in .milliseconds(8) }
        let admitted5 = offer(&state, for: 100, from: &now, allowance: 2) { _ in .milliseconds(8) }
        #expect(admitted5 == 100)
        let admitted6 = offer(&state, for: 100, from: &now, allowance: 2) { _ in .milliseconds(12) }
        #expect(admitted6 == 0)
    }

    @Test func aFewSlowRequestsAreNotAStandingQueue() {
        var state = QueueDelayState(policy: policy)
        var now = ContinuousClock.now
        // 19 requests an interval, each waiting 300 ms (a machine too busy to run us):
        // under the 20 an interval needs, so nothing is refused.
        var admitted = 0
        for _ in 0..<10 {
            for _ in 0..<19 where state.admit(waited: .milliseconds(300), now: now) { admitted += 1 }
            now += .milliseconds(100)
        }
        #expect(admitted == 190)
        #expect(!state.standing)
    }

    @Test func anIntervalWithoutRequestsEndsAStandingQueue() {
        var state = QueueDelayState(policy: policy)
        var now = ContinuousClock.now
        _ = offer(&state, for: 200, from: &now) { _ in .milliseconds(20) }
        #expect(state.standing)
        now += .seconds(1)
        let admittedLate = state.admit(waited: .milliseconds(20), now: now)
        #expect(admittedLate)
        #expect(!state.standing)
    }
}

@Suite struct AdmissionStateTests {
    @Test func aLateCallIsRefusedWhileAQueueStandsAndTheLimitShrinks() {
        var limitPolicy = AdaptiveLimitPolicy()
        limitPolicy.initialLimit = 20
        limitPolicy.windowDuration = .milliseconds(100)
        var state = AdmissionState(
            limit: AdaptiveLimiterState(policy: limitPolicy),
            queue: QueueDelayState(policy: .init(target: .milliseconds(5), interval: .milliseconds(100), minimumRequests: 1))
        )
        var now = ContinuousClock.now
        // No queue yet: a late call is admitted; one with no known wait always is.
        #expect(state.admit(share: 1, allowance: 1, waited: .milliseconds(50), now: now) == .admitted)
        now += .milliseconds(101)
        // That interval's shortest wait was 50 ms: a queue stands.
        #expect(state.admit(share: 1, allowance: 1, waited: .milliseconds(50), now: now) == .refusedLate)
        #expect(state.admit(share: 1, allowance: 1, waited: nil, now: now) == .admitted)
        #expect(state.admit(share: 1, allowance: 1, waited: .milliseconds(1), now: now) == .admitted)
        // The standing queue counts as a drop when the limit's window closes.
        _ = state.release(.success(.milliseconds(1)), now: now)
        now += .milliseconds(101)
        _ = state.release(.success(.milliseconds(1)), now: now)
        #expect(state.limit.limit == 18)
    }
}
