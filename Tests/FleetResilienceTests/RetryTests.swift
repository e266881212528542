import FleetResilience
import FleetSupport
import Synchronization
import Testing

@Suite struct RetryBudgetTests {
    @Test func retriesAreCappedAtAShareOfRequestsPlusAFloor() {
        var budget = RetryBudget(ratio: 0.2, minimumPerSecond: 0.1, seconds: 10)
        for _ in 0..<100 { budget.recordRequest(at: 0) }
        // 0.2 × 100 + 0.1 × 10 = 21 retries in the window.
        let granted = (0..<50).filter { _ in budget.withdraw(at: 0) }.count
        #expect(granted == 21)
    }

    @Test func theBudgetRefillsAsOldSecondsLeaveTheWindow() {
        var budget = RetryBudget(ratio: 0.5, minimumPerSecond: 0, seconds: 2)
        for _ in 0..<4 { budget.recordRequest(at: 0) }
        #expect((0..<5).filter { _ in budget.withdraw(at: 0) }.count == 2)
        let late = budget.withdraw(at: 1)
        #expect(late == false)
        for _ in 0..<2 { budget.recordRequest(at: 2) }
        // Second 0 has left the window: one retry for the two new requests.
        let first = budget.withdraw(at: 2)
        let second = budget.withdraw(at: 2)
        #expect(first && !second)
    }

    @Test func aQuietClientMayStillRetry() {
        var budget = RetryBudget(ratio: 0.2, minimumPerSecond: 1, seconds: 10)
        budget.recordRequest(at: 0)
        let granted = budget.withdraw(at: 0)
        #expect(granted)
    }
}

@Suite struct RetrierTests {
    struct Flaky: Error {}
    struct Fatal: Error {}

    @Test func retriesRetryableErrorsUpToTheAttempts() async throws {
        let retrier = Retrier(name: "t", attempts: 3, backoff: Backoff(first: .milliseconds(1), max: .milliseconds(2)))
        let calls = Mutex(0)
        let result = try await retrier.run(isRetryable: { $0 is Flaky }) {
            let call = calls.withLock { $0 += 1; return $0 }
            if call < 3 { throw Flaky() }
            return call
        }
        #expect(result == 3)
        calls.withLock { value in value = 0 }
        await #expect(throws: Fatal.self) {
            try await retrier.run(isRetryable: { $0 is Flaky }) {
                calls.withLock { $0 += 1 }
                throw Fatal()
            }
        }
        let made = calls.withLock { $0 }
        #expect(made == 1)
    }

    @Test func anOutageIsNotAmplifiedPastTheBudget() async throws {
        let retrier = Retrier(
            name: "outage", attempts: 5, backoff: Backoff(first: .microseconds(1), max: .microseconds(2)),
            budget: RetryBudget(ratio: 0.1, minimumPerSecond: 0, seconds: 10)
        )
        let calls = Mutex(0)
        for _ in 0..<100 {
            _ = try? await retrier.run(isRetryable: { _ in true }) { () async throws -> Int in
                calls.withLock { $0 += 1 }
                throw Flaky()
            }
        }
        // Without a budget: 500 calls. With it: 100 first attempts and at most 10 retries.
        let made = calls.withLock { $0 }
        #expect(made <= 110)
    }
}
