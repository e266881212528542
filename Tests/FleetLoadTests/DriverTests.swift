@testable import FleetLoad
import Foundation
import Testing

/// A workload whose every request takes `delay`.
struct SleepyWorkload: LoadWorkload {
    let delay: Duration

    func pick(_ sequence: Int) -> String { sequence % 2 == 0 ? "even" : "odd" }

    func perform(_ operation: String, sequence: Int) async -> RequestOutcome {
        try? await Task.sleep(for: delay)
        return .success
    }
}

@Suite struct DriverTests {
    static func report(_ recorder: LoadRecorder, _ duration: Duration) throws -> LoadReport {
        recorder.report(duration: duration, parameters: [:], objective: try ServiceLevelObjective(p95Milliseconds: 1000, errorRatePercent: 1), startedAt: Date())
    }

    /// Every arrival of the schedule is counted: sent, or dropped when the cap is reached,
    /// never skipped.
    @Test func theOpenModelCountsEveryArrivalAndDropsPastTheCap() async throws {
        let recorder = LoadRecorder(start: .now + .milliseconds(20), warmup: .zero)
        let driver = try OpenModelDriver(schedule: try ArrivalSchedule(perSecond: 100, length: .milliseconds(300)), maxInFlight: 2)
        await driver.run(SleepyWorkload(delay: .milliseconds(100)), recorder: recorder)
        let report = try Self.report(recorder, .milliseconds(300))
        let dropped = report.total.errorsByKind["dropped"] ?? 0
        #expect(report.total.requests == 30)
        #expect(report.total.errors == dropped && (10...28).contains(dropped), "\(report.total.errorsByKind)")
        #expect(Set(report.operations.map(\.name)) == ["even", "odd"])
        #expect(recorder.inFlight == 0)
        // A sent request took at least its 100 ms, measured from when it was due.
        #expect((report.total.latencyMs?.p50 ?? 0) >= 100)
    }

    @Test func theClosedModelKeepsEachUserBusyUntilTheEnd() async throws {
        let recorder = LoadRecorder(start: .now, warmup: .zero)
        let driver = try ClosedModelDriver(users: 3, length: .milliseconds(300))
        await driver.run(SleepyWorkload(delay: .milliseconds(50)), recorder: recorder)
        let report = try Self.report(recorder, .milliseconds(300))
        // Six rounds of 50 ms per user at best (a little more with rounding); a machine
        // busy enough to delay the users' start past the end manages none, so only the
        // bound is certain.
        #expect(report.total.requests <= 21, "\(report.total.requests)")
        #expect(report.total.errors == 0)
        #expect(ContinuousClock.now >= recorder.start + .milliseconds(300))
    }

    @Test func theDriversRefuseNonsense() {
        #expect(throws: LoadError.self) { try OpenModelDriver(schedule: try ArrivalSchedule(perSecond: 1, length: .seconds(1)), maxInFlight: 0) }
        #expect(throws: LoadError.self) { try ClosedModelDriver(users: 0, length: .seconds(1)) }
        #expect(throws: LoadError.self) { try ArrivalSchedule(perSecond: 1, length: .zero) }
    }
}
