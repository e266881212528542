/// Whether a dependency's health probes say it stopped answering: a run of probes in a row
/// left without an answer, which calls still waiting on it cannot tell before their own
/// timeouts. Its owner trips the dependency's breaker on it (`CircuitBreaker.trip`), or
/// stops trusting what the dependency last reported.
///
/// Silence before the first answer is not counted: opening the probes' first connection
/// on a busy machine says nothing yet, and a dependency that never answered fails its
/// calls by itself.
public struct SilentProbes: Sendable {
    /// Silent probes in a row that mean the dependency is down.
    public let threshold: Int
    /// Silent probes since the last answer; nil until one has answered.
    private var run: Int?

    public init(threshold: Int) {
        self.threshold = threshold
    }

    /// Records one probe; true when the run of silent ones has reached the threshold.
    public mutating func record(answered: Bool) -> Bool {
        guard !answered else {
            run = 0
            return false
        }
        guard let silent = run.map({ $0 + 1 }) else { return false }
        run = silent
        return silent >= threshold
    }
}
