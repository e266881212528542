import FleetSupport
import Synchronization
import Testing

/// A flag a child task sets.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

@Suite struct GateTests {
    @Test func opensAfterEveryArrivalAndNotBefore() async {
        let gate = Gate(arrivals: 2)
        let passed = Flag()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await gate.wait()
                passed.value.store(true, ordering: .relaxed)
            }
            gate.arrive()
            try? await Task.sleep(for: .milliseconds(50))
            let early = passed.value.load(ordering: .relaxed)
            #expect(!early)
            gate.arrive()
        }
        let after = passed.value.load(ordering: .relaxed)
        #expect(after)
        gate.arrive()  // more arrivals than expected change nothing
        await gate.wait()
    }

    @Test func withNoArrivalsItIsOpen() async {
        await Gate(arrivals: 0).wait()
    }
}

@Suite struct GateCancellationTests {
    @Test func aCancelledWaiterReturnsWhileTheGateStaysShut() async {
        let gate = Gate(arrivals: 1)
        let waiter = Task { await gate.wait() }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await waiter.value
        #expect(!gate.isOpen)
        gate.arrive()
        #expect(gate.isOpen)
    }
}
