import Crypto
import FleetSupport

/// A Lua script, identified by the SHA1 Redis knows it by.
public struct RedisScript: Sendable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).hex
    }
}
