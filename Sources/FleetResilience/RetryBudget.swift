/// How many retries a client may make: at most `ratio` of its first attempts over the
/// last `seconds` seconds, plus a small floor (`minimumPerSecond`) so that a quiet client
/// can still retry. During an outage every call fails; per-call retry limits would then
/// multiply the load on the struggling dependency by the attempt count, while a budget
/// caps the extra load at `ratio` (20 % by default). Pure: time is passed in as seconds.
public struct RetryBudget: Sendable, Equatable {
    public let ratio: Double
    public let minimumPerSecond: Double
    private var requests: [Int]
    private var retries: [Int]
    private var seconds: [Int64]

    public init(ratio: Double = 0.2, minimumPerSecond: Double = 1, seconds: Int = 10) {
        self.ratio = ratio
        self.minimumPerSecond = minimumPerSecond
        let size = max(1, seconds)
        requests = Array(repeating: 0, count: size)
        retries = Array(repeating: 0, count: size)
        self.seconds = Array(repeating: .min, count: size)
    }

    /// Counts a first attempt.
    public mutating func recordRequest(at second: Int64) {
        requests[slot(second)] += 1
    }

    /// Takes one retry from the budget if there is one left; false means do not retry.
    public mutating func withdraw(at second: Int64) -> Bool {
        let index = slot(second)
        let oldest = second - Int64(seconds.count) + 1
        var made = 0
        var sent = 0
        for slot in seconds.indices where seconds[slot] >= oldest {
            made += requests[slot]
            sent += retries[slot]
        }
        let allowed = minimumPerSecond * Double(seconds.count) + ratio * Double(made)
        guard Double(sent + 1) <= allowed else { return false }
        retries[index] += 1
        return true
    }

    private mutating func slot(_ second: Int64) -> Int {
        let index = Int(UInt64(bitPattern: second) % UInt64(seconds.count))
        if seconds[index] != second {
            seconds[index] = second
            requests[index] = 0
            retries[index] = 0
        }
        return index
    }
}
