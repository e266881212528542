import NIOCore
import Testing

@testable import FleetRedis

@Suite struct RESPDecoderTests {
    func decode(_ text: String) throws -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        var decoder = RESPDecoder()
        return try decoder.decode(buffer: &buffer)
    }

    @Test func scalars() throws {
        #expect(try decode("+OK\r\n") == .simpleString(ByteBuffer(string: "OK")))
        #expect(try decode("-ERR bad\r\n") == .error("ERR bad"))
        #expect(try decode(":-42\r\n") == .integer(-42))
        #expect(try decode("$0\r\n\r\n") == .bulkString(ByteBuffer()))
        #expect(try decode("$-1\r\n") == .null)
        #expect(try decode("*-1\r\n") == .null)
        #expect(try decode("_\r\n") == .null)
        #expect(try decode("#t\r\n") == .boolean(true))
        #expect(try decode(",1.5\r\n") == .double(1.5))
        #expect(try decode(",inf\r\n") == .double(.infinity))
        #expect(try decode("(3492890328409238509324850943850943825024385\r\n") == .bigNumber("3492890328409238509324850943850943825024385"))
        #expect(try decode("!8\r\nSYNTAX x\r\n") == .error("SYNTAX x"))
        #expect(try decode("=8\r\ntxt:abcd\r\n") == .bulkString(ByteBuffer(string: "abcd")))
    }

    @Test func binarySafeBulkStrings() throws {
        #expect(try decode("$4\r\na\r\nb\r\n") == .bulkString(ByteBuffer(string: "a\r\nb")))
    }

    @Test func aggregates() throws {
        #expect(try decode("*2\r\n*1\r\n:1\r\n$1\r\nx\r\n") == .array([.array([.integer(1)]), "x"]))
        #expect(try decode("*0\r\n") == .array([]))
        #expect(try decode("%1\r\n+a\r\n:1\r\n") == .map([.init(key: .simpleString(ByteBuffer(string: "a")), value: .integer(1))]))
        #expect(try decode("~1\r\n:7\r\n") == .set([.integer(7)]))
        #expect(try decode(">2\r\n+message\r\n:1\r\n") == .push([.simpleString(ByteBuffer(string: "message")), .integer(1)]))
        // An attribute is skipped; the value after it is returned.
        #expect(try decode("|1\r\n+ttl\r\n:3\r\n:5\r\n") == .integer(5))
    }

    @Test func incompleteInputConsumesNothing() throws {
        let whole = "*2\r\n$5\r\nhello\r\n:12\r\n"
        for cut in 0..<whole.utf8.count {
            var buffer = ByteBuffer(string: String(whole.utf8.prefix(cut))!)
            var decoder = RESPDecoder()
            #expect(try decoder.decode(buffer: &buffer) == nil)
            #expect(buffer.readerIndex == 0)
        }
        #expect(try decode(whole) == .array(["hello", .integer(12)]))
    }

    @Test func hostileInputIsRejected() throws {
        #expect(throws: RedisError.self) { try decode("$-5\r\n") }
        #expect(throws: RedisError.self) { try decode("$999999999999\r\n") }
        #expect(throws: RedisError.self) { try decode("*-2\r\n") }
        #expect(throws: RedisError.self) { try decode(":12a\r\n") }
        #expect(throws: RedisError.self) { try decode("?x\r\n") }
        #expect(throws: RedisError.self) { try decode("+OK\rX") }
        #expect(throws: RedisError.self) { try decode("$3\r\nabcXY") }
        #expect(throws: RedisError.self) { try decode(String(repeating: "*1\r\n", count: 100) + ":1\r\n") }
        // A huge declared array does not allocate before its elements arrive, nor overflow.
        #expect(try decode("*2000000000\r\n") == nil)
        #expect(try decode("*4000000000000000000\r\n") == nil)
        // Attributes count towards the nesting limit.
        #expect(throws: RedisError.self) { try decode(String(repeating: "|0\r\n", count: 100) + ":1\r\n") }
    }

    @Test func commandsEncodeAsBulkStringArrays() {
        var buffer = ByteBuffer()
        RedisCommand("SET", "k", .bytes([0, 13, 10]), 42).encode(into: &buffer)
        #expect(String(buffer: buffer) == "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\u{0}\r\n\r\n$2\r\n42\r\n")
    }

    @Test func urls() throws {
        let full = try RedisConfiguration(url: "redis://fleet:p%40ss@cache.local:6380/3")
        #expect(full.host == "cache.local" && full.port == 6380 && full.database == 3)
        #expect(full.username == "fleet" && full.password == "p@ss")
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@127.0.0.1")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret" && passwordOnly.port == 6379)
        #expect(throws: (any Error).self) { try RedisConfiguration(url: "http://x") }
        #expect(throws: (any Error).self) { try RedisConfiguration(url: "redis://host:99999") }
        #expect(throws: (any Error).self) { try RedisConfiguration(url: "redis://host/-1") }
    }
}
