public import NIOCore
public import Hummingbird

/// Writes JSON straight into a `ByteBuffer`: no reflection, no intermediate tree, no
/// per-field allocations. Responses are the hottest path of a read-heavy API, and this is
/// several times cheaper than `JSONEncoder` for the same output.
///
/// Commas are placed automatically: open a container, write keys and values, close it.
///
/// ```swift
/// var json = JSONWriter()
/// json.object { json in
///     json.key("tags"); json.array(tags) { json, tag in json.value(tag) }
/// }
/// ```
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public private(set) var bytes: [UInt8]
    private var needsComma = false

    public init(capacity: Int = 512) {
        self.bytes = []
        self.bytes.reserveCapacity(capacity)
    }

    /// The JSON written so far, as a buffer to send.
    public var buffer: ByteBuffer { ByteBuffer(bytes: bytes) }

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func array<Elements: Sequence>(_ elements: Elements, _ body: (inout JSONWriter, Elements.Element) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        for element in elements { body(&self, element) }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An object key; the next call writes its value. Literal keys need no escaping.
    public mutating func key(_ key: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A key that is not a literal, escaped like any string.
    public mutating func key(_ key: String) {
        value(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func value(_ string: String) {
        separate()
        var string = string
        string.withUTF8 { writeEscaped($0) }
        needsComma = true
    }

    public mutating func value(_ string: String?) {
        if let string { value(string) } else { null() }
    }

    public mutating func value(_ number: Int) {
        separate()
        bytes.append(contentsOf: String(number).utf8)
        needsComma = true
    }

    public mutating func value(_ number: Int64) {
        value(Int(number))
    }

    public mutating func value(_ flag: Bool) {
        separate()
        flag ? append("true") : append("false")
        needsComma = true
    }

    public mutating func null() {
        separate()
        append("null")
        needsComma = true
    }

    /// A value whose bytes the caller writes itself, for types that can render faster
    /// than through a `String` (a timestamp's digits). The caller must write valid JSON.
    public mutating func rawValue(_ body: (inout [UInt8]) -> Void) {
        separate()
        body(&bytes)
        needsComma = true
    }

    /// Shorthand for `key(k); value(v)`.
    public mutating func field(_ key: StaticString, _ value: String) { self.key(key); self.value(value) }
    public mutating func field(_ key: StaticString, _ value: String?) { self.key(key); self.value(value) }
    public mutating func field(_ key: StaticString, _ value: Int) { self.key(key); self.value(value) }
    public mutating func field(_ key: StaticString, _ value: Bool) { self.key(key); self.value(value) }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func writeEscaped(_ input: UnsafeBufferPointer<UInt8>) {
        bytes.reserveCapacity(bytes.count + input.count + 2)
        bytes.append(UInt8(ascii: "\""))
        var start = 0
        for index in 0..<input.count {
            let byte = input[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if start < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<index])) }
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            default:
                append("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0x0F)])
            }
            start = index + 1
        }
        if start < input.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[start...])) }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// A value that writes itself as JSON.
public protocol JSONWritable {
    func write(to json: inout JSONWriter)
}

/// A handler result rendered with `JSONWriter` as `200 OK` JSON (wrap it in
/// `EditedResponse` for another status).
public protocol JSONResponse: ResponseGenerator, JSONWritable {
    /// Headers beside the content type (none unless a response says more about itself).
    var headers: HTTPFields { get }
}

extension JSONResponse {
    public var headers: HTTPFields { [:] }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var json = JSONWriter()
        write(to: &json)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: json.buffer))
    }
}
