public import FleetRedis
public import Logging
import FleetSupport
import Metrics
public import ServiceLifecycle
import Synchronization

/// What a cache needs to hear from other instances.
protocol CacheInvalidationListener: AnyObject, Sendable {
    var namespace: String { get }
    /// Another instance changed `id`; drop it and refuse loads that started earlier.
    func remoteInvalidate(_ id: String)
    /// Another instance dropped the whole namespace.
    func remoteInvalidateAll()
    /// Invalidations stopped (`subscribed` false: they may be missed from now on) or are
    /// flowing again. L1 is dropped either way, since messages may have been missed.
    func resynchronize(subscribed: Bool)
}

/// L2 and the invalidation backplane, shared by every cache of an instance, over Redis.
///
/// L2 entries are hashes `fleet:c:<namespace>:<generation>:<id>` with two fields: `v`,
/// the key's version, bumped by every invalidation, and `d`, the value. A namespace's
/// generation moves when all of it is invalidated (article lists). A loader reads the
/// version with the value and stores its result only if neither the key's version nor
/// the generation has moved since (a script compares and writes atomically), so a load
/// that raced with a write can never put the old value back. Invalidations are published
/// on one channel and applied by every instance's caches, including to loads in flight.
public final class CacheBus: Service, Sendable {
    public static let channel = "fleet:cache:invalidate"
    /// The least time a subscription PING may take before the connection is replaced.
    public static let subscriptionTimeout: Duration = .seconds(2)

    let redis: RedisClient
    let subscriber: RedisSubscriber
    private let router: InvalidationRouter

    public init(redis: RedisClient, configuration: RedisConfiguration, logger: Logger) {
        let router = InvalidationRouter()
        self.redis = redis
        self.router = router
        // Losing the subscription costs every instance's whole L1 (messages may have been
        // missed), so its pings get more patience than ordinary commands: a busy machine
        // that answers late should not look like a dead Redis.
        var subscription = configuration
        subscription.commandTimeout = max(configuration.commandTimeout, Self.subscriptionTimeout)
        // Messages are applied on the subscriber's event loop as they arrive: no hop to
        // another thread that a busy instance might not schedule promptly.
        self.subscriber = RedisSubscriber(subscription, channels: [Self.channel], logger: logger) { router.handle($0) }
    }

    /// Runs the subscriber until shutdown.
    public func run() async throws {
        try await subscriber.run()
    }

    /// Invalidations are flowing: L1 can be trusted.
    public var isSubscribed: Bool { subscriber.isSubscribed }

    /// Returns once every invalidation published before the call has been applied here.
    /// A read that passes it cannot see a value that a write completed on any instance
    /// (which publishes before it returns) has invalidated. Costs one shared round trip.
    func barrier() async throws {
        try await subscriber.barrier()
    }

    /// The longest time, in microseconds, between another instance publishing an
    /// invalidation and this one applying it, since start.
    public var slowestPropagationMicroseconds: Int64 { router.slowestPropagation.load(ordering: .relaxed) }

    /// Adds a cache, in the subscription's current state: a cache made after the
    /// subscription came up (they usually are) must not wait for the next `.subscribed`
    /// to trust its L1. It is added first, so a change of state meanwhile reaches it too.
    func register(_ listener: any CacheInvalidationListener) {
        router.listeners.withLock { $0[listener.namespace] = listener }
        listener.resynchronize(subscribed: subscriber.isSubscribed)
    }

    // MARK: - L2

    // Scripts build entry keys from the namespace's current generation, read in the same
    // atomic step, so a namespace invalidation is seen by every instance at once.
    private static let prelude = """
        local g = redis.call('GET', KEYS[1]) or '0'
        local k = 'fleet:c:' .. ARGV[1] .. ':' .. g .. ':' .. ARGV[2]

        """

    private static let getScript = RedisScript(
        prelude + """
            local r = redis.call('HMGET', k, 'v', 'd')
            return {g .. ':' .. (r[1] or '0'), r[2]}
            """
    )

    private static let setScript = RedisScript(
        prelude + """
            if g .. ':' .. (redis.call('HGET', k, 'v') or '0') ~= ARGV[3] then return 0 end
            redis.call('HSET', k, 'd', ARGV[4])
            -- Never shorten the hash's life: its version must outlive slow loaders.
            if redis.call('PTTL', k) < tonumber(ARGV[5]) then redis.call('PEXPIRE', k, ARGV[5]) end
            return 1
            """
    )

    private static let invalidateScript = RedisScript(
        prelude + """
            redis.call('HINCRBY', k, 'v', 1)
            redis.call('HDEL', k, 'd')
            redis.call('PEXPIRE', k, ARGV[3])
            redis.call('PUBLISH', ARGV[4], ARGV[5])
            return 1
            """
    )

    private static let invalidateAllScript = RedisScript(
        """
        redis.call('INCR', KEYS[1])
        redis.call('PUBLISH', ARGV[1], ARGV[2])
        return 1
        """
    )

    private func generationKey(_ namespace: String) -> RedisArgument { .string("fleet:c:\(namespace):generation") }

    /// The stored bytes (nil when absent) and the version they were read at: the
    /// namespace's generation and the key's counter.
    func get(_ namespace: String, _ id: String) async throws -> (bytes: [UInt8]?, version: String) {
        let reply = try await redis.run(Self.getScript, keys: [generationKey(namespace)], arguments: [.string(namespace), .string(id)])
        guard let fields = reply.array, let version = fields.first?.string else { throw RedisError.protocolError("cache get reply") }
        return (fields.count > 1 ? fields[1].bytes : nil, version)
    }

    /// `get` for many keys in one pipelined round trip.
    func getMany(_ namespace: String, _ ids: [String]) async throws -> [(bytes: [UInt8]?, version: String)] {
        let replies = try await redis.run(Self.getScript, calls: ids.map { ([generationKey(namespace)], [.string(namespace), .string($0)]) })
        return try replies.map { reply in
            guard let fields = reply.array, let version = fields.first?.string else { throw RedisError.protocolError("cache get reply") }
            return (fields.count > 1 ? fields[1].bytes : nil, version)
        }
    }

    /// `set` for many keys in one pipelined round trip.
    func setMany(_ namespace: String, _ entries: [(id: String, bytes: [UInt8], version: String)], ttl: Duration) async throws {
        _ = try await redis.run(
            Self.setScript,
            calls: entries.map {
                ([generationKey(namespace)], [.string(namespace), .string($0.id), .string($0.version), .bytes($0.bytes), .integer(Self.milliseconds(ttl))])
            }
        )
    }

    /// Stores `bytes` unless the key or its namespace was invalidated since `version`.
    @discardableResult
    func set(_ namespace: String, _ id: String, bytes: [UInt8], ifVersion version: String, ttl: Duration) async throws -> Bool {
        let reply = try await redis.run(
            Self.setScript, keys: [generationKey(namespace)],
            arguments: [.string(namespace), .string(id), .string(version), .bytes(bytes), .integer(Self.milliseconds(ttl))]
        )
        return reply.int == 1
    }

    /// Bumps the key's version, drops its value and tells every instance, in one step.
    /// The version outlives the value by `versionTTL`, so a slow loader still sees it move.
    func invalidate(_ namespace: String, _ id: String, versionTTL: Duration) async throws {
        _ = try await redis.run(
            Self.invalidateScript, keys: [generationKey(namespace)],
            arguments: [
                .string(namespace), .string(id), .integer(Self.milliseconds(versionTTL)), .string(Self.channel),
                .string(message("k", namespace, id)),
            ]
        )
    }

    /// Moves the namespace to a new generation (its old entries become unreachable and
    /// expire) and tells every instance.
    func invalidateAll(_ namespace: String) async throws {
        _ = try await redis.run(
            Self.invalidateAllScript, keys: [generationKey(namespace)],
            arguments: [.string(Self.channel), .string(message("n", namespace, ""))]
        )
    }

    private static func milliseconds(_ duration: Duration) -> Int { max(1, Int(duration.inMilliseconds)) }

    /// `kind|origin|sent-at-µs|namespace|id`; the id, which may hold `|`, comes last.
    private func message(_ kind: String, _ namespace: String, _ id: String) -> String {
        [kind, router.origin, String(WallClock.microseconds()), namespace, id].joined(separator: "|")
    }
}

/// Applies what the subscriber delivers to the registered caches.
private final class InvalidationRouter: Sendable {
    let listeners = Mutex<[String: any CacheInvalidationListener]>([:])
    /// Identifies this instance's own messages, which it has already applied.
    let origin = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    /// From publish on one instance to receipt on another.
    private let propagation = Metrics.Timer(label: "cache.invalidation.propagation.duration", preferredDisplayUnit: .seconds)
    let slowestPropagation = Atomic<Int64>(0)

    func handle(_ event: RedisSubscriber.Event) {
        switch event {
        case .disconnected:
            for listener in listeners.withLock({ Array($0.values) }) { listener.resynchronize(subscribed: false) }
        case .subscribed:
            for listener in listeners.withLock({ Array($0.values) }) { listener.resynchronize(subscribed: true) }
        case .message(_, let payload):
            let fields = String(buffer: payload).split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
            guard fields.count == 5, let sentAt = Int64(fields[2]) else { return }
            guard fields[1] != origin, let listener = listeners.withLock({ $0[String(fields[3])] }) else { return }
            switch fields[0] {
            case "k": listener.remoteInvalidate(String(fields[4]))
            case "n": listener.remoteInvalidateAll()
            default: break
            }
            // Wall clocks: exact between instances on one machine, approximate across machines.
            let elapsed = WallClock.microseconds() - sentAt
            if elapsed >= 0 {
                propagation.recordMicroseconds(elapsed)
                slowestPropagation.max(elapsed, ordering: .relaxed)
            }
        }
    }
}
