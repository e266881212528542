/// Whether a node is up, judged from its health probes: down only after `threshold`
/// probes in a row have failed, up again at the first that succeeds. One probe that ran
/// past its timeout on a busy machine (or one bad connection) must not stop every write:
/// declaring the primary down refuses them all, and fails a start-up's migrations.
/// A pure state machine; `ReplicatedDatabase`'s tracker feeds it.
public struct ProbeHealth: Sendable, Equatable {
    /// Failed probes in a row that make a node down.
    public let threshold: Int
    /// Failed probes since the last one that succeeded.
    public private(set) var failures = 0

    public init(threshold: Int) {
        self.threshold = max(1, threshold)
    }

    public var isUp: Bool { failures < threshold }

    /// Records a probe's outcome; returns whether this changed `isUp`.
    @discardableResult
    public mutating func record(success: Bool) -> Bool {
        let wasUp = isUp
        failures = success ? 0 : failures + 1
        return wasUp != isUp
    }
}
