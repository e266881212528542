import FleetJobs
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 5, base: .seconds(1), cap: .seconds(6))

    @Test func boundsDoubleUpToTheCap() {
        #expect((1...5).map { policy.bound(attempt: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(6), .seconds(6)])
    }

    @Test func fullJitterSpansZeroToTheBound() {
        #expect(policy.afterFailure(attempt: 3, random: 0) == .retry(after: .zero))
        #expect(policy.afterFailure(attempt: 3, random: 0.5) == .retry(after: .seconds(2)))
        #expect(policy.afterFailure(attempt: 3, random: 0.999_999) == .retry(after: .seconds(4) * 0.999_999))
        // Out-of-range randomness is clamped, never a negative or oversized delay.
        #expect(policy.afterFailure(attempt: 3, random: -1) == .retry(after: .zero))
        #expect(policy.afterFailure(attempt: 3, random: 7) == .retry(after: .seconds(4)))
    }

    @Test func theLastAttemptsFailureIsDeath() {
        #expect(policy.afterFailure(attempt: 4, random: 0.5) != .dead)
        #expect(policy.afterFailure(attempt: 5, random: 0.5) == .dead)
        #expect(RetryPolicy(maxAttempts: 1).afterFailure(attempt: 1, random: 0) == .dead)
    }

    @Test func hugeAttemptCountsStayAtTheCap() {
        #expect(policy.bound(attempt: 10_000) == .seconds(6))
    }
}
