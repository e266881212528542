import FleetResilience
import Synchronization
import Testing

@Suite struct BulkheadStateTests {
    @Test func runsUpToTheLimitQueuesUpToTheDepthAndRefusesTheRest() {
        var state = BulkheadState(maxConcurrent: 2, maxWaiting: 1)
        let admissions = (1...4).map { state.arrive(UInt64($0)) }
        #expect(admissions == [.run, .run, .wait, .refuse])
        #expect(state.running == 2 && state.waiting == [3])
    }

    @Test func aFinishedCallHandsItsPermitToTheOldestWaiter() {
        var state = BulkheadState(maxConcurrent: 1, maxWaiting: 2)
        _ = state.arrive(1)
        _ = state.arrive(2)
        _ = state.arrive(3)
        var order: [UInt64?] = [state.finish()]
        #expect(state.running == 1)
        // A newcomer does not overtake the queue while someone waits.
        let newcomer = state.arrive(4)
        #expect(newcomer == .wait)
        order += [state.finish(), state.finish(), state.finish()]
        #expect(order == [2, 3, 4, nil])
        #expect(state.running == 0)
        let last = state.arrive(5)
        #expect(last == .run)
    }

    @Test func aCancelledWaiterLeavesTheQueueButAStartedOneMustFinish() {
        var state = BulkheadState(maxConcurrent: 1, maxWaiting: 2)
        _ = state.arrive(1)
        _ = state.arrive(2)
        _ = state.arrive(3)
        let cancelled = state.cancel(2)
        #expect(cancelled)
        #expect(state.waiting == [3])
        let next = state.finish()
        #expect(next == 3)
        let cancelledLate = state.cancel(3)
        #expect(!cancelledLate)  // it holds the permit now
        #expect(state.running == 1)
    }
}

@Suite struct BulkheadTests {
    @Test func aFullBulkheadRefusesAtOnceAndNothingRunsBeyondTheLimit() async throws {
        let bulkhead = Bulkhead(name: "test", maxConcurrent: 2, maxWaiting: 3)
        let counts = Counts()
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        try await bulkhead.run {
                            counts.enter()
                            for await _ in gate { break }
                            counts.leave()
                        }
                        return true
                    } catch {
                        #expect((error as? BulkheadError)?.code == .full)
                        return false
                    }
                }
            }
            // Three refusals come back while two calls run and three wait.
            var refused = 0
            while refused < 3, let admitted = await group.next() { if !admitted { refused += 1 } }
            #expect(bulkhead.waiting == 3)
            open.finish()
            var results = Array(repeating: false, count: refused)
            for await admitted in group { results.append(admitted) }
            return results
        }
        #expect(outcomes.filter { $0 }.count == 5)
        #expect(counts.most == 2)
    }

    @Test func aCancelledWaiterFreesItsPlaceInTheQueue() async throws {
        let bulkhead = Bulkhead(name: "cancel", maxConcurrent: 1, maxWaiting: 1)
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let (started, start) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await bulkhead.run {
                start.yield()
                for await _ in gate { break }
            }
        }
        for await _ in started { break }
        let waiter = Task { try await bulkhead.run {} }
        while bulkhead.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(bulkhead.waiting == 0)
        // Its place is free again: the next caller waits instead of being refused.
        let next = Task { try await bulkhead.run { 42 } }
        while bulkhead.waiting == 0 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(bulkhead.waiting == 1)
        open.finish()
        try await holder.value
        #expect(try await next.value == 42)
    }
}

/// How many calls run at once, and the most there ever were.
final class Counts: Sendable {
    private let state = Mutex((running: 0, most: 0))
    func enter() { state.withLock { $0.running += 1; $0.most = max($0.most, $0.running) } }
    func leave() { state.withLock { $0.running -= 1 } }
    var most: Int { state.withLock { $0.most } }
}
