import FleetRedis
import FleetSupport
import Foundation

extension OpsBoard {
    /// Where each instance's heartbeat lives in Redis; it expires unless renewed, so an
    /// instance that stopped or died leaves the list within `heartbeatLifetime`.
    static let heartbeatPrefix = "fleet:ops:instance:"

    /// Three missed samples and an instance is gone from the page.
    var heartbeatLifetime: Duration { sampleInterval * 3 }

    /// Publishes this instance's summary to Redis, if there is one (errors are the page's
    /// loss only: the Redis breaker and its metrics already tell the story).
    func publishHeartbeat(_ instance: OpsData.Instance) async {
        guard let redis, let json = try? JSONEncoder().encode(instance) else { return }
        let milliseconds = Int(heartbeatLifetime.inMilliseconds)
        _ = try? await redis.client.send(RedisCommand("SET", .string(Self.heartbeatPrefix + instance.id), .bytes(Array(json)), "PX", .integer(milliseconds)))
    }

    /// Every instance with a live heartbeat, and `me` (fresh) in any case, sorted by id.
    func instances(including me: OpsData.Instance) async -> [OpsData.Instance] {
        var found: [String: OpsData.Instance] = [:]
        if let redis {
            var cursor = "0"
            var keys: [String] = []
            // A few rounds at most: a fleet is not thousands of instances.
            for _ in 0..<20 {
                guard let reply = try? await redis.client.send(RedisCommand("SCAN", .string(cursor), "MATCH", .string(Self.heartbeatPrefix + "*"), "COUNT", 1000)),
                    let parts = reply.array, parts.count == 2, let next = parts[0].string
                else { break }
                keys += (parts[1].array ?? []).compactMap(\.string)
                cursor = next
                if cursor == "0" { break }
            }
            if !keys.isEmpty, let values = try? await redis.client.send(RedisCommand("MGET", arguments: keys.map { .string($0) })).array {
                for value in values {
                    guard let bytes = value.bytes, let instance = try? JSONDecoder().decode(OpsData.Instance.self, from: Data(bytes)) else { continue }
                    found[instance.id] = instance
                }
            }
        }
        found[me.id] = me
        return found.values.sorted { $0.id < $1.id }
    }
}
