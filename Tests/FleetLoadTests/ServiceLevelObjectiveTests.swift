@testable import FleetLoad
import Foundation
import Testing

@Suite struct ServiceLevelObjectiveTests {
    /// A run of `requests` of `latency` ms each, `errors` of them failed.
    static func total(requests: Int, errors: Int, latency: Int) throws -> OperationReport {
        let start = ContinuousClock.now
        let recorder = LoadRecorder(start: start, warmup: .zero)
        for index in 0..<requests {
            recorder.record("op", intended: start, finished: start + .milliseconds(latency), outcome: index < errors ? .status(500) : .success)
        }
        return recorder.report(duration: .seconds(1), parameters: [:], objective: try ServiceLevelObjective(p95Milliseconds: 1, errorRatePercent: 0), startedAt: Date()).total
    }

    @Test func passesWithinBothBounds() throws {
        let objective = try ServiceLevelObjective(p95Milliseconds: 100, errorRatePercent: 1)
        let verdict = objective.verdict(for: try Self.total(requests: 200, errors: 2, latency: 40))
        #expect(verdict.pass)
        #expect(verdict.failures.isEmpty)
        #expect(verdict.errorRatePercent == 1)
    }

    @Test func failsOnLatencyOrErrorsAndSaysWhich() throws {
        let objective = try ServiceLevelObjective(p95Milliseconds: 100, errorRatePercent: 1)
        let slow = objective.verdict(for: try Self.total(requests: 100, errors: 0, latency: 150))
        #expect(!slow.pass && slow.failures.count == 1 && slow.failures[0].hasPrefix("p95"))
        let failing = objective.verdict(for: try Self.total(requests: 100, errors: 5, latency: 10))
        #expect(!failing.pass && failing.failures == ["error rate 5 % > 1 %"])
        let nothing = objective.verdict(for: try Self.total(requests: 3, errors: 3, latency: 10))
        #expect(!nothing.pass && nothing.failures.contains("no successful request"))
    }

    @Test func rejectsNonsense() {
        #expect(throws: LoadError.self) { try ServiceLevelObjective(p95Milliseconds: 0, errorRatePercent: 1) }
        #expect(throws: LoadError.self) { try ServiceLevelObjective(p95Milliseconds: 10, errorRatePercent: 101) }
    }

    @Test func theMarkdownLeadsWithTheVerdict() throws {
        let start = ContinuousClock.now
        let recorder = LoadRecorder(start: start, warmup: .zero)
        recorder.record("read", intended: start, finished: start + .milliseconds(3), outcome: .success)
        let report = recorder.report(
            duration: .seconds(1), parameters: ["model": "open"], objective: try ServiceLevelObjective(p95Milliseconds: 50, errorRatePercent: 1), startedAt: Date()
        )
        let text = report.markdown()
        #expect(text.contains("**SLO: PASS**"))
        #expect(text.contains("| read | 1 | 1 | 0 | 3 | 3 | 3 | 3 |"))
        #expect(text.contains("| **total** | 1 |"))
        #expect(text.contains("- model: `open`"))
    }

    @Test func theProgressLineSaysWhatIsGoingOn() {
        let line = ProgressLine.format(
            elapsed: .seconds(12.4), length: .seconds(30), warmup: .seconds(2), window: LiveWindow(requests: 199, errors: 1, p99: 12.34), inFlight: 3, errors: 4
        )
        #expect(line == "12s/30s  199 req/s  in flight 3  errors 4 (+1)  p99 12.3 ms")
        let warming = ProgressLine.format(elapsed: .seconds(1), length: .seconds(30), warmup: .seconds(2), window: LiveWindow(requests: 0, errors: 0, p99: nil), inFlight: 0, errors: 0)
        #expect(warming.contains("warm-up") && warming.hasSuffix("p99 -"))
    }
}
