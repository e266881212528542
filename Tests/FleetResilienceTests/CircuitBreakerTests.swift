import FleetResilience
import Logging
import Synchronization
import Testing

@Suite struct CircuitBreakerStateTests {
    let start = ContinuousClock.now
    let policy = CircuitBreakerPolicy(
        window: .count(10), minimumCalls: 4, failureRateThreshold: 0.5, slowCallRateThreshold: 0.8,
        slowCallDuration: .seconds(1), openDuration: .seconds(5), halfOpenPermits: 2
    )

    /// Makes one call at `at` seconds with the given outcome and duration.
    @discardableResult
    func call(
        _ state: inout CircuitBreakerState, _ outcome: CircuitBreakerState.Outcome, at: Double = 0, taking: Duration = .milliseconds(1)
    ) -> (admitted: Bool, transition: CircuitBreakerState.Transition?) {
        let now = start + .milliseconds(Int64(at * 1000))
        let (permit, opened) = state.acquire(now: now)
        guard let permit else { return (false, opened) }
        return (true, state.record(outcome, duration: taking, permit: permit, now: now) ?? opened)
    }

    @Test func opensOnlyOnceTheMinimumOfCallsIsReached() {
        var state = CircuitBreakerState(policy: policy, now: start)
        call(&state, .failure)
        call(&state, .failure)
        call(&state, .failure)
        #expect(state.phase == .closed)  // three failures, but fewer than four calls
        let fourth = call(&state, .success)
        #expect(fourth.transition == .init(from: .closed, to: .open))
        #expect(call(&state, .success, at: 1).admitted == false)
    }

    @Test func staysClosedBelowTheFailureRate() {
        var state = CircuitBreakerState(policy: policy, now: start)
        for index in 0..<20 { call(&state, index % 3 == 1 ? .failure : .success) }
        #expect(state.phase == .closed)
    }

    @Test func slowCallsOpenItEvenWhenTheySucceed() {
        var state = CircuitBreakerState(policy: policy, now: start)
        for _ in 0..<4 { call(&state, .success, taking: .seconds(2)) }
        #expect(state.phase == .open)
    }

    @Test func ignoredOutcomesDoNotCount() {
        var state = CircuitBreakerState(policy: policy, now: start)
        for _ in 0..<10 { call(&state, .ignored) }
        #expect(state.totals(now: start).calls == 0)
        #expect(state.phase == .closed)
    }

    @Test func halfOpenAfterTheWaitThenClosesOnGoodTrials() {
        var state = CircuitBreakerState(policy: policy, now: start)
        for _ in 0..<4 { call(&state, .failure) }
        #expect(call(&state, .success, at: 4.9).admitted == false)
        let (first, transition) = state.acquire(now: start + .seconds(5))
        #expect(transition == .init(from: .open, to: .halfOpen))
        let (second, _) = state.acquire(now: start + .seconds(5))
        // Two permits out: a third caller is refused while the trials run.
        #expect(first != nil && second != nil)
        #expect(state.acquire(now: start + .seconds(5)).permit == nil)
        #expect(state.record(.success, duration: .zero, permit: first!, now: start + .seconds(5)) == nil)
        #expect(state.record(.success, duration: .zero, permit: second!, now: start + .seconds(5)) == .init(from: .halfOpen, to: .closed))
        // A fresh window: the failures from before do not count.
        #expect(state.totals(now: start + .seconds(5)).calls == 0)
    }

    @Test func aFailedTrialOpensItAgain() {
        var state = CircuitBreakerState(policy: policy, now: start)
        for _ in 0..<4 { call(&state, .failure) }
        call(&state, .failure, at: 5)
        let second = call(&state, .success, at: 5)
        #expect(second.transition == .init(from: .halfOpen, to: .open))
        #expect(call(&state, .success, at: 9).admitted == false)  // a new wait from 5 s
        #expect(call(&state, .success, at: 10).admitted)
    }

    @Test func aCancelledTrialGivesItsPermitBack() {
        var state = CircuitBreakerState(policy: policy, now: start)
        for _ in 0..<4 { call(&state, .failure) }
        let at = start + .seconds(5)
        let a = state.acquire(now: at).permit
        let b = state.acquire(now: at).permit
        #expect(state.acquire(now: at).permit == nil)
        state.release(a!)
        state.release(b!)
        // Both permits are back: the breaker is not stuck half-open.
        let c = state.acquire(now: at).permit
        let d = state.acquire(now: at).permit
        #expect(c != nil && d != nil)
        _ = state.record(.success, duration: .zero, permit: c!, now: at)
        #expect(state.record(.success, duration: .zero, permit: d!, now: at)?.to == .closed)
    }

    @Test func outcomesFromAnEarlierPhaseAreNotCounted() {
        var state = CircuitBreakerState(policy: policy, now: start)
        let slow = state.acquire(now: start).permit!
        for _ in 0..<4 { call(&state, .failure) }
        #expect(state.phase == .open)
        // The call admitted while closed ends during the trials: it is not a trial.
        let trial = state.acquire(now: start + .seconds(5)).permit!
        #expect(state.record(.failure, duration: .zero, permit: slow, now: start + .seconds(5)) == nil)
        #expect(state.phase == .halfOpen)
        state.release(trial)
    }

    @Test func otherEvidenceEndsTheOpenWaitEarly() {
        var state = CircuitBreakerState(policy: policy, now: start)
        for _ in 0..<4 { call(&state, .failure) }
        #expect(call(&state, .success, at: 1).admitted == false)
        state.endWait(now: start + .seconds(1))
        #expect(call(&state, .success, at: 1).transition?.from == .open)
        #expect(state.phase == .halfOpen)
    }

    @Test func otherEvidenceTripsAClosedBreakerAtOnce() {
        var state = CircuitBreakerState(policy: policy, now: start)
        call(&state, .success)
        #expect(state.trip(now: start)?.to == .open)  // one call in the window: below the minimum
        #expect(call(&state, .success, at: 1).admitted == false)
        #expect(state.trip(now: start + .seconds(1)) == nil)  // already open: its wait is not restarted
        #expect(call(&state, .success, at: 5).transition?.to == .halfOpen)
        #expect(state.trip(now: start + .seconds(5)) == nil)  // half-open: the trials decide
        #expect(call(&state, .success, at: 5).transition?.to == .closed)
        #expect(state.force(.forcedClosed, now: start)?.to == .forcedClosed)
        #expect(state.trip(now: start) == nil)  // an override stands
    }

    @Test func anOperatorForcesItOpenOrClosedAndLiftsTheOverride() {
        var state = CircuitBreakerState(policy: policy, now: start)
        #expect(state.force(.forcedOpen, now: start)?.to == .forcedOpen)
        #expect(call(&state, .success, at: 100).admitted == false)  // no wait ends a forced open
        #expect(state.force(.forcedClosed, now: start)?.to == .forcedClosed)
        for _ in 0..<10 { call(&state, .failure) }
        #expect(state.phase == .forcedClosed)  // failures do not open a forced-closed breaker
        #expect(state.force(nil, now: start)?.to == .closed)
    }

    @Test func timeWindowsForgetOldCalls() {
        var window = OutcomeWindow(.time(seconds: 3))
        window.record(failed: true, slow: false, at: 0)
        window.record(failed: true, slow: false, at: 1)
        window.record(failed: false, slow: true, at: 2)
        #expect(window.current(at: 2) == .init(calls: 3, failures: 2, slow: 1))
        #expect(window.current(at: 3) == .init(calls: 2, failures: 1, slow: 1))
        #expect(window.current(at: 10) == .init())
        var counted = OutcomeWindow(.count(2))
        counted.record(failed: true, slow: false, at: 0)
        counted.record(failed: false, slow: false, at: 0)
        counted.record(failed: false, slow: false, at: 0)
        #expect(counted.totals == .init(calls: 2, failures: 0, slow: 0))
    }
}

@Suite struct CircuitBreakerShellTests {
    struct Refused: Error {}

    @Test func refusesOnceOpenAndCountsOnlyWhatClassifySays() async throws {
        let breaker = CircuitBreaker(
            name: "test", policy: .init(window: .count(4), minimumCalls: 2, openDuration: .seconds(60)), logger: Logger(label: "test")
        )
        let transitions = Mutex<[CircuitBreaker.Phase]>([])
        breaker.onTransition { transition in transitions.withLock { $0.append(transition.to) } }
        // Client errors are not the dependency's fault.
        for _ in 0..<5 { _ = try? await breaker.run(classify: { _ in .ignored }) { throw Refused() } }
        #expect(breaker.phase == .closed)
        for _ in 0..<2 { _ = try? await breaker.run { throw Refused() } }
        #expect(breaker.phase == .open && breaker.refusesCalls)
        await #expect(throws: CircuitBreakerError(code: .open, breaker: "test")) { try await breaker.run { 1 } }
        let seen = transitions.withLock { $0 }
        #expect(seen == [.open])
        breaker.force(.forcedClosed)
        #expect(try await breaker.run { 2 } == 2)
    }

    @Test func aCancelledCallGivesItsPermitBack() async throws {
        let breaker = CircuitBreaker(
            name: "cancel", policy: .init(window: .count(2), minimumCalls: 1, openDuration: .milliseconds(1), halfOpenPermits: 1),
            logger: Logger(label: "test")
        )
        _ = try? await breaker.run { throw Refused() }
        try await Task.sleep(for: .milliseconds(5))
        // The one trial permit is taken by a call that is then cancelled...
        let task = Task { try await breaker.run { try await Task.sleep(for: .seconds(30)) } }
        try await Task.sleep(for: .milliseconds(50))
        #expect(breaker.phase == .halfOpen)
        task.cancel()
        _ = await task.result
        // ...and is back: the next trial runs and closes the breaker.
        #expect(try await breaker.run { 3 } == 3)
        #expect(breaker.phase == .closed)
    }
}
