/// A client's name for one create it may send more than once: the `Idempotency-Key`
/// request header (IETF httpapi draft), typically a UUID made when the user pressed the
/// button.
///
/// Creating an article or a comment is the one kind of Conduit write that is not
/// idempotent by itself: sent twice, it creates twice. A client (or a load balancer
/// whose instance died with the request in flight) that sends it again under the same
/// key gets the first one's result instead (`KeyedWrite`).
public struct IdempotencyKey: Sendable, Hashable {
    public let text: String

    /// The longest key accepted, in bytes (each one ASCII).
    static let maxBytes = 255
    /// What an error about the key is filed under: the header's name, which is what the
    /// client sent.
    static let field = "Idempotency-Key"

    /// The key in a header's value; nil when there is none. Refuses (422) an empty, too
    /// long or non-ASCII key: it is compared byte for byte, so only visible ASCII
    /// characters (0x21-0x7E) are taken, which no proxy or client library rewrites.
    public static func parse(_ header: String?) throws(ConduitError) -> IdempotencyKey? {
        guard let header else { return nil }
        let bytes = header.utf8
        if bytes.isEmpty { throw ConduitError(.invalid, field: field, "can't be blank") }
        if bytes.count > maxBytes { throw ConduitError(.invalid, field: field, "is too long (maximum is \(maxBytes) characters)") }
        if bytes.contains(where: { $0 < 0x21 || $0 > 0x7E }) {
            throw ConduitError(.invalid, field: field, "may contain only visible ASCII characters (a UUID, for instance)")
        }
        return IdempotencyKey(text: header)
    }
}
