#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FleetSupport

/// An IPv4 or IPv6 address as bytes (IPv4-mapped IPv6 addresses count as IPv4).
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(_ text: some StringProtocol) {
        var text = String(text)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") { text = String(text[text.index(after: text.startIndex)..<close]) }
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }  // zone id
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            let raw = withUnsafeBytes(of: &v6) { Array($0) }
            bytes = raw.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] ? Array(raw.suffix(4)) : raw
        } else {
            return nil
        }
    }

    public var isIPv4: Bool { bytes.count == 4 }

    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}

/// A network such as `10.0.0.0/8` or `fd00::/8`.
public struct CIDR: Sendable, Hashable {
    public let network: IPAddress
    public let prefix: Int

    /// Reads `address/prefix`; a bare address is a single host.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = IPAddress(first.trimmingSpaces) else { return nil }
        let maxPrefix = address.bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1].trimmingSpaces) : maxPrefix
        guard let prefix, (0...maxPrefix).contains(prefix) else { return nil }
        self.network = address
        self.prefix = prefix
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var bits = prefix
        for index in network.bytes.indices where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if address.bytes[index] & mask != network.bytes[index] & mask { return false }
            bits -= 8
        }
        return true
    }
}

/// Finds the client behind a request: the peer, or, when the peer is a trusted proxy,
/// the rightmost `X-Forwarded-For` entry that is not itself a trusted proxy. Entries a
/// client wrote itself sit to the left of what our proxies appended, so they are never
/// believed.
public struct ClientAddressResolver: Sendable {
    public let trustedProxies: [CIDR]

    public init(trustedProxies: [CIDR]) {
        self.trustedProxies = trustedProxies
    }

    public func client(peer: IPAddress?, forwardedFor: [String]) -> IPAddress? {
        guard var client = peer, isTrusted(client) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces }
        for hop in hops.reversed() {
            guard let address = IPAddress(hop) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        return client
    }

    /// The rate-limit key for a client: the address, or its /56 for IPv6, since one
    /// subscriber usually holds a whole /56 or /64 and could rotate through it.
    public static func key(for address: IPAddress?) -> String {
        guard let address else { return "unknown" }
        if address.isIPv4 { return address.description }
        return address.bytes.prefix(7).hex + "::/56"
    }

    private func isTrusted(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
