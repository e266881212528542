/// A URL naming a server: `scheme://[user[:password]@]host[:port][/path][?query]`, the form
/// of `postgres://` and `redis://` settings. One parser for every such setting, so that
/// they all follow the same rules:
///
/// - the user and password may be percent-encoded (a password may hold `@`, `:` or `/`);
///   a malformed escape is an error, not a silent guess;
/// - the credentials end at the last `@` before the path;
/// - an IPv6 host is bracketed (`[::1]:5432`);
/// - the port, if given, is 1-65535; the path is returned without its leading `/`.
///
/// Foundation's `URL` is not used: its percent and host rules differ between platforms.
public struct ServiceURL: Sendable, Equatable {
    public var scheme: String
    public var user: String?
    public var password: String?
    public var host: String
    public var port: Int?
    public var path: String
    public var query: String?

    public init(_ text: String) throws(ServiceURLError) {
        guard let separator = text.firstRange(of: "://") else { throw ServiceURLError("has no scheme (expected scheme://host)") }
        scheme = String(text[..<separator.lowerBound]).lowercased()
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) else {
            throw ServiceURLError("has an invalid scheme")
        }
        var rest = Substring(text[separator.upperBound...])
        if let question = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: question)...])
            rest = rest[..<question]
        }
        // Credentials end at the last `@`: an unescaped password may hold `@` or `/`.
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            let pieces = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            user = try Self.decode(pieces[0], what: "user")
            password = pieces.count > 1 ? try Self.decode(pieces[1], what: "password") : nil
            if user == "" { user = nil }
            rest = rest[rest.index(after: at)...]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        path = slash < rest.endIndex ? String(rest[rest.index(after: slash)...]) : ""
        var hostPort = rest[..<slash]
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw ServiceURLError("has an unclosed [ in its host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if !hostPort.isEmpty {
                guard hostPort.hasPrefix(":") else { throw ServiceURLError("has text after its IPv6 host") }
                port = try Self.port(hostPort.dropFirst())
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            port = try Self.port(hostPort[hostPort.index(after: colon)...])
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw ServiceURLError("has no host") }
    }

    private static func port(_ text: Substring) throws(ServiceURLError) -> Int {
        guard let number = Int(text), (1...65535).contains(number) else { throw ServiceURLError("has an invalid port (1-65535)") }
        return number
    }

    /// Decodes `%XX` escapes.
    private static func decode(_ text: Substring, what: String) throws(ServiceURLError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                throw ServiceURLError("has a malformed %-escape in its \(what)")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw ServiceURLError("has a \(what) that is not UTF-8") }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why a text is not a usable service URL. The message never repeats the URL, which may
/// hold a password.
public struct ServiceURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "the URL \(reason)" }
}
