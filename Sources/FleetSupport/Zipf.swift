/// Draws ranks 0..<n with probability proportional to 1/(rank+1)^s: a few items get most
/// of the attention, as authors, tags and articles do on a real social site. The seeder
/// builds its data set with it and the load generator picks what it reads with it.
public struct Zipf: Sendable {
    private let cumulative: [Double]

    /// The number of ranks drawn from.
    public var count: Int { cumulative.count }

    public init(count: Int, exponent s: Double) {
        precondition(count > 0)
        var total = 0.0
        var cumulative: [Double] = []
        cumulative.reserveCapacity(count)
        for rank in 1...count {
            total += 1 / pow(Double(rank), s)
            cumulative.append(total)
        }
        self.cumulative = cumulative.map { $0 / total }
    }

    public func sample(using rng: inout some RandomNumberGenerator) -> Int {
        let u = Double.random(in: 0..<1, using: &rng)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

/// A small, fast, seedable generator (SplitMix64), so a seed of the same size builds
/// the same data set every time.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { self.state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
