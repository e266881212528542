import FleetData
import FleetSupport
import FleetRedis
import Logging
import Synchronization

/// Where each client's last write position is kept between requests, so that its next
/// read, on any instance, goes to a replica that has replayed it (or the primary). A
/// client is a user, and also an address: a client that writes with its token and then
/// reads without it still reads its own writes.
///
/// Positions are per physical shard (`node`): each shard's primary has its own WAL. They
/// are kept for the replica lag bound plus a margin: after that, every replica still in
/// use has replayed them anyway.
protocol WritePositions: Sendable {
    func position(for clients: [String], node: Int) async -> WALPosition?
    func record(_ positions: [Int: WALPosition], for clients: [String]) async
}

extension WritePositions {
    /// The name a client's position on a node is kept under.
    static func key(_ client: String, node: Int) -> String { "fleet:wal:\(node):" + client }
}

/// In this process: enough for one instance.
final class LocalWritePositions: WritePositions {
    private let positions = Mutex<[String: (position: WALPosition, until: ContinuousClock.Instant)]>([:])
    private let lifetime: Duration

    init(lifetime: Duration) {
        self.lifetime = lifetime
    }

    func position(for clients: [String], node: Int) async -> WALPosition? {
        let now = ContinuousClock.now
        return positions.withLock { positions in
            clients.compactMap { client in positions[Self.key(client, node: node)].flatMap { $0.until > now ? $0.position : nil } }.max()
        }
    }

    func record(_ written: [Int: WALPosition], for clients: [String]) async {
        let now = ContinuousClock.now
        let until = now + lifetime
        positions.withLock { positions in
            if positions.count > 100_000 { positions = positions.filter { $0.value.until > now } }
            for (node, position) in written {
                for client in clients {
                    // Raised positions get a new lifetime; an older one changes nothing.
                    let key = Self.key(client, node: node)
                    if let kept = positions[key], kept.until > now, kept.position >= position { continue }
                    positions[key] = (position, until)
                }
            }
        }
    }
}

/// In Redis, shared by every instance; while Redis fails, this instance's own record
/// stands in (the user's next request may land on another instance and read from the
/// primary or a caught-up replica only by luck, which the log says).
final class RedisWritePositions: WritePositions {
    private let redis: RedisClient
    private let local: LocalWritePositions
    private let lifetime: Duration
    private let logger: Logger

    init(redis: RedisClient, lifetime: Duration, logger: Logger) {
        self.redis = redis
        self.local = LocalWritePositions(lifetime: lifetime)
        self.lifetime = lifetime
        self.logger = logger
    }

    /// Keeps the highest position: two instances writing for one user cannot move it back.
    private static let raise = RedisScript(
        """
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        if tonumber(ARGV[1]) > current then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        end
        return 1
        """
    )

    func position(for clients: [String], node: Int) async -> WALPosition? {
        let own = await local.position(for: clients, node: node)
        do {
            let shared = try await redis.send(RedisCommand("MGET", arguments: clients.map { .string(Self.key($0, node: node)) }))
            let positions = (shared.array ?? []).compactMap { $0.string.flatMap { UInt64($0) }.map { WALPosition(rawValue: $0) } }
            return (positions + [own].compactMap { $0 }).max()
        } catch {
            return own
        }
    }

    func record(_ written: [Int: WALPosition], for clients: [String]) async {
        await local.record(written, for: clients)
        do {
            let milliseconds = Int(lifetime.inMilliseconds)
            for (node, position) in written {
                for client in clients {
                    _ = try await redis.run(
                        Self.raise, keys: [.string(Self.key(client, node: node))],
                        arguments: [.string(String(position.rawValue)), .integer(milliseconds)]
                    )
                }
            }
        } catch {
            logger.warning("could not share a write position through Redis; other instances may read older data for this client", metadata: ["error": "\(error)"])
        }
    }
}
