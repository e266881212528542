/// How often each key was seen recently: a count-min sketch of 4-bit counters that halves
/// itself every `sampleSize` increments, so old popularity fades (TinyLFU's aging).
///
/// Four hashes per key; the estimate is the smallest of its four counters, so collisions
/// can only overestimate.
struct FrequencySketch {
    private var table: [UInt64]
    private let mask: Int
    private let sampleSize: Int
    private var additions = 0

    init(capacity: Int) {
        // 16 counters per 64-bit word; about one word per entry keeps collisions rare.
        var words = 8
        while words < capacity { words <<= 1 }
        table = Array(repeating: 0, count: words)
        mask = words - 1
        sampleSize = max(10 * capacity, 64)
    }

    func frequency(_ hash: UInt64) -> Int {
        var minimum = 15
        for row in 0..<4 {
            let (word, shift) = position(hash, row)
            minimum = min(minimum, Int((table[word] >> shift) & 0xF))
        }
        return minimum
    }

    mutating func increment(_ hash: UInt64) {
        var added = false
        for row in 0..<4 {
            let (word, shift) = position(hash, row)
            if (table[word] >> shift) & 0xF < 15 {
                table[word] += 1 << shift
                added = true
            }
        }
        if added {
            additions += 1
            if additions >= sampleSize { age() }
        }
    }

    /// Halves every counter.
    private mutating func age() {
        for index in table.indices { table[index] = (table[index] >> 1) & 0x7777_7777_7777_7777 }
        additions /= 2
    }

    private func position(_ hash: UInt64, _ row: Int) -> (word: Int, shift: UInt64) {
        // A different odd multiplier per row turns one hash into four.
        let seeds: (UInt64, UInt64, UInt64, UInt64) = (0xc3a5_c85c_97cb_3127, 0xb492_b66f_be98_f273, 0x9ae1_6a3b_2f90_404f, 0xcbf2_9ce4_8422_2325)
        let seed = row == 0 ? seeds.0 : row == 1 ? seeds.1 : row == 2 ? seeds.2 : seeds.3
        var mixed = (hash &+ seed) &* seed
        mixed ^= mixed >> 32
        let word = Int(truncatingIfNeeded: mixed) & mask
        let counter = UInt64((mixed >> 8) & 0xF)
        return (word, counter << 2)
    }
}
