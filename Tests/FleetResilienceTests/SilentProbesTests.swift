import FleetResilience
import Testing

@Suite struct SilentProbesTests {
    /// Records each probe in turn; what each one said.
    func record(_ answers: [Bool], into probes: inout SilentProbes) -> [Bool] {
        answers.map { probes.record(answered: $0) }
    }

    @Test func aRunOfSilentProbesAfterAnAnswerMeansDown() {
        var probes = SilentProbes(threshold: 3)
        // Down from the third silent one, and still while the run goes on.
        #expect(record([true, false, false, false, false], into: &probes) == [false, false, false, true, true])
    }

    @Test func anAnswerEndsTheRun() {
        var probes = SilentProbes(threshold: 3)
        #expect(record([true, false, false, true, false, false, false], into: &probes) == [false, false, false, false, false, false, true])
    }

    @Test func silenceBeforeTheFirstAnswerIsNotCounted() {
        var probes = SilentProbes(threshold: 2)
        #expect(record(Array(repeating: false, count: 10), into: &probes).allSatisfy { !$0 })
        #expect(record([true, false, false], into: &probes) == [false, false, true])
    }
}
