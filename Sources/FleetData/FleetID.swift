public import FleetSupport
import Synchronization

/// A 63-bit identifier that carries the logical shard of what it names.
///
/// Layout, high to low: 41 bits of milliseconds since 2024-01-01 (good until 2093),
/// 10 bits of logical shard (1024 shards), 12 bits of sequence. IDs sort by creation
/// time, and the shard is read straight from the ID, so a row (or a slug that embeds an
/// ID) can be routed to its database without a lookup.
public struct FleetID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let epochMilliseconds: Int64 = 1_704_067_200_000
    public static let shardBits = 10
    public static let sequenceBits = 12
    public static let logicalShardCount = 1 << shardBits

    public let rawValue: Int64

    public init(rawValue: Int64) { self.rawValue = rawValue }

    public init(milliseconds: Int64, shard: LogicalShard, sequence: Int) {
        let time = max(0, milliseconds - Self.epochMilliseconds)
        self.rawValue = (time << Int64(Self.shardBits + Self.sequenceBits))
            | (Int64(shard.rawValue) << Int64(Self.sequenceBits))
            | Int64(sequence & ((1 << Self.sequenceBits) - 1))
    }

    /// The logical shard this ID was minted on.
    public var shard: LogicalShard {
        LogicalShard(rawValue: Int((rawValue >> Int64(Self.sequenceBits)) & Int64(Self.logicalShardCount - 1)))
    }

    /// Milliseconds since the Unix epoch when this ID was minted.
    public var milliseconds: Int64 { (rawValue >> Int64(Self.shardBits + Self.sequenceBits)) + Self.epochMilliseconds }

    public static func < (lhs: FleetID, rhs: FleetID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }

    /// A compact, URL-safe spelling (base 36), used inside slugs.
    public var base36: String { String(rawValue, radix: 36) }

    public init?(base36: some StringProtocol) {
        guard !base36.isEmpty, base36.count <= 13, let value = Int64(base36, radix: 36), value > 0 else { return nil }
        self.rawValue = value
    }
}

extension FleetID: SQLBindable, SQLDecodable {
    public var sqlValue: SQLValue { .integer(rawValue) }
    public init(sqlValue: SQLValue) throws(SQLDecodingError) { self.rawValue = try Int64(sqlValue: sqlValue) }
}

/// One of the 1024 logical shards. Logical shards map onto physical databases by
/// configuration, so moving data is a change of map plus a copy, never a rehash.
public struct LogicalShard: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue & (FleetID.logicalShardCount - 1) }

    /// A stable shard for a key (FNV-1a), used to place a new user.
    public init(hashing key: String) {
        self.init(rawValue: Int(FNV1a.hash(key.utf8) % UInt64(FleetID.logicalShardCount)))
    }
}

/// Mints `FleetID`s: monotonic within one process, unique across processes with
/// high probability (the sequence starts at a random point each millisecond); the
/// primary key catches the rare collision.
public final class FleetIDGenerator: Sendable {
    private struct State {
        var lastMilliseconds: Int64 = 0
        var sequence: Int = 0
    }
    private let state = Mutex(State())
    private let clock: @Sendable () -> Int64

    public init(clock: @escaping @Sendable () -> Int64 = WallClock.milliseconds) {
        self.clock = clock
    }

    public func next(on shard: LogicalShard) -> FleetID {
        state.withLock { state in
            var now = clock()
            if now < state.lastMilliseconds { now = state.lastMilliseconds }  // clock stepped back
            if now == state.lastMilliseconds, state.sequence + 1 < 1 << FleetID.sequenceBits {
                state.sequence += 1
            } else {
                // A new millisecond (borrowing the next one if this one is used up). The
                // sequence starts at a random point in the lower half: at least 2048 ids
                // per millisecond, and two processes rarely start at the same point.
                if now == state.lastMilliseconds { now += 1 }
                state.sequence = Int.random(in: 0..<(1 << (FleetID.sequenceBits - 1)))
            }
            state.lastMilliseconds = now
            return FleetID(milliseconds: now, shard: shard, sequence: state.sequence)
        }
    }
}
