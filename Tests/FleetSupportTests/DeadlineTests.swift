import FleetSupport
import Testing

@Suite struct DeadlineTests {
    struct TooLate: Error {}

    @Test func answersInTimeWithTheResult() async throws {
        #expect(try await withDeadline(.seconds(5), orThrow: { TooLate() }) { 42 } == 42)
    }

    @Test func answersAtTheDeadlineEvenIfTheWorkIgnoresCancellation() async {
        let start = ContinuousClock.now
        await #expect(throws: TooLate.self) {
            try await withDeadline(.milliseconds(100), orThrow: { TooLate() }) {
                // Waits on through cancellation, as a query on a silent socket would (a
                // detached task's value is awaited whatever happens to the caller).
                await Task.detached { try? await Task.sleep(for: .seconds(10)) }.value
            }
        }
        // Long before the work ends, with room for a busy machine.
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    /// An answer that can no longer come (its server is known to be down) is given up as
    /// soon as that is known, long before the deadline; until then the wait goes on.
    @Test func aWaitGivesUpOnceToldTheAnswerCannotCome() async throws {
        let start = ContinuousClock.now
        await #expect(throws: TooLate.self) {
            try await withDeadlineIgnoringCancellation(
                .seconds(60), orThrow: { TooLate() }, giveUpIf: { ContinuousClock.now - start > .milliseconds(300) }, checkingEvery: .milliseconds(20)
            ) {
                await Task.detached { try? await Task.sleep(for: .seconds(60)) }.value
            }
        }
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(300))
        #expect(waited < .seconds(10))
        // Work that finishes while the condition holds off is answered with its result.
        let result = try await withDeadlineIgnoringCancellation(.seconds(60), orThrow: { TooLate() }, giveUpIf: { false }, checkingEvery: .milliseconds(20)) {
            try await Task.sleep(for: .milliseconds(100))
            return 7
        }
        #expect(result == 7)
    }

    /// A cancelled caller (a worker draining on SIGTERM) is answered at once, and the work
    /// is cancelled with it.
    @Test func cancellingTheCallerCancelsTheWork() async {
        let workCancelled = Flag()
        let caller = Task {
            try await withDeadline(.seconds(30), orThrow: { TooLate() }) {
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    workCancelled.value.store(true, ordering: .relaxed)
                    throw error
                }
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        caller.cancel()
        let result = await caller.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(ContinuousClock.now - start < .seconds(5))
        for _ in 0..<100 where !workCancelled.value.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(10)) }
        let cancelled = workCancelled.value.load(ordering: .relaxed)
        #expect(cancelled)
    }

    @Test func theWorksOwnErrorPassesThrough() async {
        struct Failed: Error {}
        await #expect(throws: Failed.self) { try await withDeadline(.seconds(5), orThrow: { TooLate() }) { throw Failed() } }
    }
}
