import FleetHTTP
import Testing

@Suite struct ConnectionDeadlinesTests {
    typealias Deadlines = ConnectionDeadlines<ContinuousClock.Instant>
    let timeouts = ConnectionTimeouts(idle: .seconds(60), header: .seconds(10), body: .seconds(30))
    let start = ContinuousClock.now

    func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    @Test func eachPhaseHasItsOwnClock() {
        var deadlines = Deadlines(timeouts: timeouts, now: at(0))
        #expect(deadlines.deadline == at(60))
        deadlines.bytesReceived(at: at(5))
        #expect(deadlines.phase == .header && deadlines.deadline == at(15))
        deadlines.bytesReceived(at: at(6))  // more of the same header: the clock runs on
        #expect(deadlines.deadline == at(15))
        #expect(deadlines.expired(at: at(15)) == .header)
        deadlines.headReceived(at: at(7))
        #expect(deadlines.phase == .body && deadlines.deadline == at(37))
        deadlines.endReceived(at: at(8))
        // Waiting for the response: the client owes nothing.
        #expect(deadlines.deadline == nil)
        #expect(deadlines.expired(at: at(1000)) == nil)
        deadlines.responseSent(at: at(100))
        #expect(deadlines.phase == .idle && deadlines.deadline == at(160))
    }

    @Test func aSlowHandlerIsNotTheClientsFault() {
        var deadlines = Deadlines(timeouts: timeouts, now: at(0))
        deadlines.bytesReceived(at: at(1))
        deadlines.headReceived(at: at(1))
        deadlines.endReceived(at: at(1))
        // The next request arrives (pipelined) while the first is still being answered.
        deadlines.bytesReceived(at: at(2))
        #expect(deadlines.deadline == nil)
        deadlines.responseSent(at: at(50))
        // Its header clock starts when the server is free again.
        #expect(deadlines.phase == .header && deadlines.deadline == at(60))
    }

    @Test func aBodyIsTimedEvenWhileTheHandlerWaitsForIt() {
        var deadlines = Deadlines(timeouts: timeouts, now: at(0))
        deadlines.bytesReceived(at: at(0))
        deadlines.headReceived(at: at(1))
        #expect(deadlines.responsesOwed == 1)
        #expect(deadlines.expired(at: at(31)) == .body)
    }
}
