import FleetData
import Testing

@Suite struct ProbeHealthTests {
    /// Feeds `outcomes` in order; returns after each whether the state changed.
    static func feed(_ health: inout ProbeHealth, _ outcomes: [Bool]) -> [Bool] {
        outcomes.map { health.record(success: $0) }
    }

    @Test func downOnlyAfterEnoughFailuresInARow() {
        var health = ProbeHealth(threshold: 3)
        #expect(health.isUp)
        // A success in between starts the count again: a slow probe now and then is no outage.
        #expect(Self.feed(&health, [false, false, true, false, false]) == [false, false, false, false, false])
        #expect(health.isUp)
        #expect(Self.feed(&health, [false]) == [true], "the third failure in a row changes the state")
        #expect(!health.isUp)
        #expect(Self.feed(&health, [false]) == [false])
        #expect(!health.isUp)
    }

    @Test func upAgainAtTheFirstSuccess() {
        var health = ProbeHealth(threshold: 2)
        _ = Self.feed(&health, [false, false])
        #expect(!health.isUp)
        #expect(Self.feed(&health, [true]) == [true])
        #expect(health.isUp && health.failures == 0)
    }

    @Test func aThresholdBelowOneMeansOne() {
        var health = ProbeHealth(threshold: 0)
        #expect(health.threshold == 1)
        #expect(Self.feed(&health, [false]) == [true])
        #expect(!health.isUp)
    }
}
