import Synchronization

/// A position in PostgreSQL's write-ahead log (an LSN such as `16/B374D848`): every
/// commit has one, and a replica has applied a commit once its replay position reaches it.
public struct WALPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Reads PostgreSQL's text form, `XXXXXXXX/XXXXXXXX` in hexadecimal.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let high = UInt32(parts[0], radix: 16), let low = UInt32(parts[1], radix: 16) else { return nil }
        rawValue = UInt64(high) << 32 | UInt64(low)
    }

    public var description: String {
        String(UInt32(rawValue >> 32), radix: 16, uppercase: true) + "/" + String(UInt32(truncatingIfNeeded: rawValue), radix: 16, uppercase: true)
    }

    public static func < (lhs: WALPosition, rhs: WALPosition) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What one session (a request, on behalf of a user) must see: at least everything that
/// user wrote before. The HTTP layer creates one per request from the user's last write
/// position (shared between instances), `ReplicatedDatabase` reads it to pick a replica
/// that has caught up, and raises it after each commit.
public final class SessionConsistency: Sendable {
    @TaskLocal public static var current: SessionConsistency?

    private let position: Atomic<UInt64>
    private let wrote = Atomic<Bool>(false)

    public init(atLeast position: WALPosition?) {
        self.position = Atomic(position?.rawValue ?? 0)
    }

    /// The position reads must have reached; nil when the session has no requirement.
    public var required: WALPosition? {
        let value = position.load(ordering: .acquiring)
        return value == 0 ? nil : WALPosition(rawValue: value)
    }

    /// Whether this session committed a write (so its new position should be kept).
    public var hasWritten: Bool { wrote.load(ordering: .acquiring) }

    /// Records a commit at `position`.
    public func advance(to position: WALPosition) {
        self.position.max(position.rawValue, ordering: .acquiringAndReleasing)
        wrote.store(true, ordering: .releasing)
    }
}
