import FleetSupport
import Testing

@testable import FleetCache

@Suite struct LocalCacheTests {
    func entry(_ value: Int, bytes: Int = 1) -> LocalCache<Int>.Entry {
        let now = ContinuousClock.now
        return .init(value: value, bytes: bytes, freshUntil: now + .seconds(60), staleUntil: now + .seconds(120), storedAt: now)
    }

    @Test func staysWithinItsEntryAndByteBounds() {
        var cache = LocalCache<Int>(maxEntries: 100, maxBytes: 1000)
        for key in 0..<10_000 { cache.set("k\(key)", entry(key, bytes: 7)) }
        #expect(cache.count <= 100)
        var heavy = LocalCache<Int>(maxEntries: 1000, maxBytes: 1000)
        for key in 0..<500 { heavy.set("k\(key)", entry(key, bytes: 100)) }
        #expect(heavy.totalBytes <= 1000 && heavy.count == 10)
        heavy.remove("k499")
        #expect(heavy.get("k499") == nil)
        heavy.removeAll()
        #expect(heavy.count == 0 && heavy.totalBytes == 0)
    }

    @Test func replacingAnEntryKeepsTheByteCountRight() {
        var cache = LocalCache<Int>(maxEntries: 10, maxBytes: 1000)
        cache.set("a", entry(1, bytes: 100))
        cache.set("a", entry(2, bytes: 300))
        #expect(cache.totalBytes == 300 && cache.get("a")?.value == 2)
    }

    /// The reason for W-TinyLFU: on Zipf traffic with one-off scans mixed in, it keeps
    /// the hot set that LRU lets the scans push out.
    @Test func beatsLRUOnSkewedTrafficWithScans() {
        func hitRatio(windowPercent: Int) -> Double {
            var cache = LocalCache<Int>(maxEntries: 1000, maxBytes: .max, windowPercent: windowPercent)
            // Deterministic, so the comparison is the same on every run.
            var random = SplitMix64(seed: 42)
            let zipf = Zipf(count: 100_000, exponent: 1.1)
            var hits = 0
            var scanKey = 1_000_000
            let requests = 300_000
            for request in 0..<requests {
                // Every third request is a one-off key (a crawler, a long-tail page).
                let key: Int
                if request % 3 == 0 {
                    scanKey += 1
                    key = scanKey
                } else {
                    key = zipf.sample(using: &random)
                }
                if cache.get("k\(key)") != nil { hits += 1 } else { cache.set("k\(key)", entry(key)) }
            }
            return Double(hits) / Double(requests)
        }
        let lru = hitRatio(windowPercent: 100)
        let tinyLFU = hitRatio(windowPercent: 1)
        #expect(tinyLFU > lru * 1.1, "W-TinyLFU \(tinyLFU) vs LRU \(lru)")
    }
}
