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
