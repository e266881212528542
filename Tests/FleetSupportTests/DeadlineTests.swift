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

    @Test func theWorksOwnErrorPassesThrough() async {
        struct Failed: Error {}
        await #expect(throws: Failed.self) { try await withDeadline(.seconds(5), orThrow: { TooLate() }) { throw Failed() } }
    }
}
