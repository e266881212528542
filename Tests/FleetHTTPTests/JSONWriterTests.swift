import FleetHTTP
import Foundation
import Testing

@Suite struct JSONWriterTests {
    @Test func nestsAndSeparates() {
        var json = JSONWriter()
        json.object { json in
            json.field("a", 1)
            json.key("list")
            json.array([1, 2, 3]) { json, n in json.value(n) }
            json.key("empty")
            json.array([Int]()) { json, n in json.value(n) }
            json.field("none", Optional<String>.none)
            json.key("inner")
            json.object { json in json.field("t", true) }
        }
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"a":1,"list":[1,2,3],"empty":[],"none":null,"inner":{"t":true}}"#)
    }

    @Test(arguments: ["plain", "quote \" and \\ backslash", "new\nline\ttab\r", "\u{0}\u{1}\u{1F}", "émoji 🐉 ünïcode", ""])
    func escapedStringsRoundTrip(text: String) throws {
        var json = JSONWriter()
        json.object { json in json.field("s", text) }
        let parsed = try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [String: String]
        #expect(parsed?["s"] == text)
    }
}
