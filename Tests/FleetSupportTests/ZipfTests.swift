import FleetSupport
import Testing

@Suite struct ZipfTests {
    @Test func theFirstRanksGetMostDrawsAndASeedRepeats() {
        let zipf = Zipf(count: 100, exponent: 1.1)
        var rng = SplitMix64(seed: 7)
        var counts = [Int](repeating: 0, count: 100)
        for _ in 0..<20_000 { counts[zipf.sample(using: &rng)] += 1 }
        #expect(zipf.count == 100)
        // 1/H(100, 1.1) is about 23 % for rank 0, and rank 1 gets 2^-1.1 of that.
        #expect((4400...4950).contains(counts[0]), "\(counts[0])")
        #expect(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99])
        var first = SplitMix64(seed: 3)
        var second = SplitMix64(seed: 3)
        #expect((0..<50).map { _ in zipf.sample(using: &first) } == (0..<50).map { _ in zipf.sample(using: &second) })
    }
}
