@testable import FleetLoad
import Foundation
import Testing

@Suite struct RecorderTests {
    @Test func intervalsAreWholeSecondsFromMeasurementStart() {
        #expect(LoadRecorder.interval(of: .milliseconds(-1)) == nil)
        #expect(LoadRecorder.interval(of: .zero) == 0)
        #expect(LoadRecorder.interval(of: .milliseconds(999)) == 0)
        #expect(LoadRecorder.interval(of: .seconds(1)) == 1)
        #expect(LoadRecorder.interval(of: .milliseconds(2500)) == 2)
    }

    @Test func bucketsByFinishTimeAndLeavesOutTheWarmUp() throws {
        let start = ContinuousClock.now
        let recorder = LoadRecorder(start: start, warmup: .seconds(1))
        // Meant to start in the warm-up: not measured, even though it finished after it.
        recorder.record("read", intended: start + .milliseconds(900), finished: start + .milliseconds(1100), outcome: .success)
        // Latency from the intended start: 300 ms, finishing in interval 0.
        recorder.record("read", intended: start + .milliseconds(1200), finished: start + .milliseconds(1500), outcome: .success)
        recorder.record("read", intended: start + .milliseconds(1300), finished: start + .milliseconds(2100), outcome: .status(503))
        recorder.record("write", intended: start + .milliseconds(2200), finished: start + .milliseconds(2200), outcome: .dropped)
        let report = recorder.report(
            duration: .seconds(3), parameters: [:], objective: try ServiceLevelObjective(p95Milliseconds: 500, errorRatePercent: 1), startedAt: Date()
        )
        #expect(report.warmupRequests == 1)
        #expect(report.total.requests == 3)
        #expect(report.total.errors == 2)
        #expect(report.total.errorsByKind == ["http 503": 1, "dropped": 1])
        #expect(report.operations.map(\.name) == ["read", "write"])
        let read = try #require(report.operations.first)
        #expect(read.requests == 2 && read.errors == 1)
        #expect(abs((read.latencyMs?.p50 ?? 0) - 300) < 1)
        #expect(report.intervals.map(\.second) == [0, 1, 2])
        #expect(report.intervals.map(\.requests) == [1, 2, 0])
        #expect(report.intervals[1].errorsByKind == ["http 503": 1, "dropped": 1])
        #expect(report.intervals[1].p99Ms == nil)
        #expect(abs(report.total.rate - 1) < 0.001)
        #expect(!report.slo.pass)
        // The JSON a test or script reads back.
        let decoded = try LoadReport.decode(report.json())
        #expect(decoded.total.requests == 3 && decoded.intervals.count == 3)
    }

    @Test func theLiveWindowEmptiesOnEachRead() {
        let start = ContinuousClock.now
        let recorder = LoadRecorder(start: start, warmup: .zero)
        recorder.record("read", intended: start, finished: start + .milliseconds(5), outcome: .success)
        recorder.record("read", intended: start, finished: start + .milliseconds(5), outcome: .failure("timeout"))
        let window = recorder.takeLiveWindow()
        #expect(window.requests == 2 && window.errors == 1)
        #expect(abs((window.p99 ?? 0) - 5) < 0.1)
        #expect(recorder.takeLiveWindow().requests == 0)
    }
}
