@testable import FleetLoad
import Testing

@Suite struct ArrivalScheduleTests {
    static func seconds(_ schedule: ArrivalSchedule) -> [Double] {
        schedule.map { ($0.inSeconds * 1e6).rounded() / 1e6 }
    }

    @Test func evenlySpacedAtOneRate() throws {
        let arrivals = Self.seconds(try ArrivalSchedule(perSecond: 10, length: .seconds(1)))
        #expect(arrivals == (0..<10).map { Double($0) / 10 })
    }

    @Test func stepsChangeTheSpacingAndCarryTheFraction() throws {
        let schedule = try ArrivalSchedule(steps: [RateStep(start: .zero, perSecond: 2), RateStep(start: .seconds(1.25), perSecond: 4)], length: .seconds(2))
        // 2/s: 0, 0.5, 1.0; at 1.25 s, 2.5 arrivals are due, so the next is half an arrival
        // into the 4/s step (1.375), then every 0.25 s.
        #expect(Self.seconds(schedule) == [0, 0.5, 1.0, 1.375, 1.625, 1.875])
        #expect(schedule.rate(at: .seconds(1)) == 2)
        #expect(schedule.rate(at: .seconds(1.5)) == 4)
    }

    @Test func aZeroRateStepIsAPause() throws {
        let schedule = try ArrivalSchedule(
            steps: [RateStep(start: .zero, perSecond: 2), RateStep(start: .seconds(1), perSecond: 0), RateStep(start: .seconds(2), perSecond: 2)],
            length: .seconds(3)
        )
        #expect(Self.seconds(schedule) == [0, 0.5, 2, 2.5])
    }

    @Test func countsMatchRateTimesLength() throws {
        #expect(try ArrivalSchedule(perSecond: 200, length: .seconds(10)).count == 2000)
        #expect(try ArrivalSchedule(steps: ArrivalSchedule.steps(parsing: "0:20,1.5:30"), length: .seconds(3)).count == 75)
    }

    @Test func parsesOneRateOrSteps() throws {
        #expect(try ArrivalSchedule.steps(parsing: "200") == [RateStep(start: .zero, perSecond: 200)])
        #expect(
            try ArrivalSchedule.steps(parsing: "0:50, 10:200") == [RateStep(start: .zero, perSecond: 50), RateStep(start: .seconds(10), perSecond: 200)]
        )
        for bad in ["", "-3", "fast", "5:100", "0:10,x:3", "0:10:20"] {
            #expect(throws: LoadError.self) { try ArrivalSchedule.steps(parsing: bad) }
        }
    }
}
