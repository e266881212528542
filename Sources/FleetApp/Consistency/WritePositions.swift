import FleetData
import FleetRedis
import Logging
import Synchronization

/// Where each client's last write position is kept between requests, so that its next
/// read, on any instance, goes to a replica that has replayed it (or the primary). A
/// client is a user, and also an address: a client that writes with its token and then
/// reads without it still reads its own writes.
///
/// Positions are kept for the replica lag bound plus a margin: after that, every replica
/// still in use has replayed them anyway.
protocol WritePositions: Sendable {
    func position(for clients: [String]) async -> WALPosition?
    func record(_ position: WALPosition, for clients: [String]) async
}

/// In this process: enough for one instance.
final class LocalWritePositions: WritePositions {
    private let positions = Mutex<[String: (position: WALPosition, until: ContinuousClock.Instant)]>([:])
    private let lifetime: Duration

    init(lifetime: Duration) {
        self.lifetime = lifetime
    }

    func position(for clients: [String]) async -> WALPosition? {
        let now = ContinuousClock.now
        return positions.withLock { positions in
            clients.compactMap { client in positions[client].flatMap { $0.until > now ? $0.position : nil } }.max()
        }
    }

    func record(_ position: WALPosition, for clients: [String]) async {
        let until = ContinuousClock.now + lifetime
        positions.withLock { positions in
            if positions.count > 100_000 {
                let now = ContinuousClock.now
                positions = positions.filter { $0.value.until > now }
            }
            for client in clients {
                // Raised positions get a new lifetime; an older one changes nothing.
                if let kept = positions[client], kept.until > ContinuousClock.now, kept.position >= position { continue }
                positions[client] = (position, until)
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

    func position(for clients: [String]) async -> WALPosition? {
        let own = await local.position(for: clients)
        do {
            let shared = try await redis.send(RedisCommand("MGET", arguments: clients.map { .string(Self.key($0)) }))
            let positions = (shared.array ?? []).compactMap { $0.string.flatMap { UInt64($0) }.map { WALPosition(rawValue: $0) } }
            return (positions + [own].compactMap { $0 }).max()
        } catch {
            return own
        }
    }

    func record(_ position: WALPosition, for clients: [String]) async {
        await local.record(position, for: clients)
        do {
            let milliseconds = Int(lifetime.components.seconds * 1000 + lifetime.components.attoseconds / 1_000_000_000_000_000)
            for client in clients {
                _ = try await redis.run(
                    Self.raise, keys: [.string(Self.key(client))], arguments: [.string(String(position.rawValue)), .integer(milliseconds)]
                )
            }
        } catch {
            logger.warning("could not share a write position through Redis; other instances may read older data for this client", metadata: ["error": "\(error)"])
        }
    }

    static func key(_ client: String) -> String { "fleet:wal:" + client }
}
