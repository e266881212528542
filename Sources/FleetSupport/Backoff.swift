/// Exponential backoff with full jitter: each wait is drawn between `first` and a ceiling
/// that doubles after every attempt up to `max`, so that many clients retrying after one
/// failure spread out instead of arriving together.
public struct Backoff: Sendable {
    public let first: Duration
    public let max: Duration
    private var ceiling: Duration

    public init(first: Duration, max: Duration) {
        precondition(first > .zero && max >= first, "backoff needs 0 < first <= max")
        self.first = first
        self.max = max
        self.ceiling = first
    }

    /// Starts over after a success.
    public mutating func reset() { ceiling = first }

    /// The wait before the next attempt.
    public mutating func next() -> Duration {
        next(random: Double.random(in: 0...1))
    }

    /// The wait for a given draw in 0...1 (for tests).
    public mutating func next(random: Double) -> Duration {
        let wait = first + (ceiling - first) * random
        ceiling = Swift.min(ceiling * 2, max)
        return wait
    }
}
