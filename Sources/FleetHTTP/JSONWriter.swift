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
    public private(set) var buffer: ByteBuffer
    private var needsComma = false

    public init(capacity: Int = 512) {
        self.buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func array<Elements: Sequence>(_ elements: Elements, _ body: (inout JSONWriter, Elements.Element) -> Void) {
        separate()
        buffer.writeInteger(UInt8(ascii: "["))
        needsComma = false
        for element in elements { body(&self, element) }
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An object key; the next call writes its value.
    public mutating func key(_ key: StaticString) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        key.withUTF8Buffer { _ = buffer.writeBytes($0) }
        buffer.writeStaticString("\":")
        needsComma = false
    }

    /// A key that is not a literal, escaped like any string.
    public mutating func key(_ key: String) {
        value(key)
        buffer.writeInteger(UInt8(ascii: ":"))
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
        buffer.writeString(String(number))
        needsComma = true
    }

    public mutating func value(_ number: Int64) {
        value(Int(number))
    }

    public mutating func value(_ flag: Bool) {
        separate()
        buffer.writeStaticString(flag ? "true" : "false")
        needsComma = true
    }

    public mutating func null() {
        separate()
        buffer.writeStaticString("null")
        needsComma = true
    }

    /// A pre-rendered JSON fragment, trusted to be valid.
    public mutating func raw(_ json: String) {
        separate()
        buffer.writeString(json)
        needsComma = true
    }

    /// Shorthand for `key(k); value(v)`.
    public mutating func field(_ key: StaticString, _ value: String) { self.key(key); self.value(value) }
    public mutating func field(_ key: StaticString, _ value: String?) { self.key(key); self.value(value) }
    public mutating func field(_ key: StaticString, _ value: Int) { self.key(key); self.value(value) }
    public mutating func field(_ key: StaticString, _ value: Bool) { self.key(key); self.value(value) }

    private mutating func separate() {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
    }

    private mutating func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        buffer.reserveCapacity(minimumWritableBytes: bytes.count + 2)
        buffer.writeInteger(UInt8(ascii: "\""))
        var start = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if start < index { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<index])) }
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0x09: buffer.writeStaticString("\\t")
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0x0F)])
            }
            start = index + 1
        }
        if start < bytes.count { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start...])) }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}

/// A value that writes itself as JSON.
public protocol JSONWritable {
    func write(to json: inout JSONWriter)
}

/// A handler result rendered with `JSONWriter` as `200 OK` JSON (wrap it in
/// `EditedResponse` for another status).
public protocol JSONResponse: ResponseGenerator, JSONWritable {}

extension JSONResponse {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var json = JSONWriter()
        write(to: &json)
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: json.buffer))
    }
}
