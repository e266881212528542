public import Logging
import FleetSupport
public import FleetResilience
import Metrics
import Tracing
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// A Redis client for many concurrent callers: a few multiplexed connections, each kept
/// up by its own background task (reconnect with jittered exponential backoff, a health
/// ping when idle), and commands that fail fast when Redis is away.
///
/// It is a `Service`: connections exist while `run()` does. A command sent while no
/// connection is up throws `RedisError.unavailable` at once instead of waiting, because
/// Fleet's callers (cache, rate limiter) have a fallback and a request should not wait
/// for Redis to come back. Every command goes through `breaker`: once enough of them time
/// out or lose their connection, commands fail at once until trial commands succeed.
public final class RedisClient: Service, Sendable {
    public let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let slots: [Slot]
    private let cursor = Atomic<Int>(0)
    private let timers = Mutex<[String: Metrics.Timer]>([:])
    private let connected = Atomic<Int>(0)
    private let connectedGauge = Gauge(label: "redis.client.connections", dimensions: [("state", "up")])
    private let failures = Counter(label: "redis.client.failures")
    /// Counts failed commands (not error replies) and refuses commands while open.
    public let breaker: CircuitBreaker

    public init(
        _ configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        breakers: CircuitBreakers? = nil,
        logger: Logger
    ) {
        self.breaker = breakers?.breaker("redis", policy: .frequentlyCalled) ?? CircuitBreaker(name: "redis", policy: .frequentlyCalled, logger: logger)
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.slots = (0..<max(1, configuration.connections)).map { _ in Slot() }
    }

    /// Keeps the connections up until cancelled or until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for index in self.slots.indices {
                    group.addTask { await self.maintain(slot: index) }
                }
            }
        }
    }

    /// True while at least one connection is up.
    public var isConnected: Bool { connected.load(ordering: .relaxed) > 0 }

    /// Waits until a connection is up (for tests and start-up), or throws after `timeout`.
    public func waitUntilConnected(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !isConnected {
            guard ContinuousClock.now < deadline else { throw RedisError.unavailable }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sends one command; an error reply is thrown as `RedisError.server`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await guarded(command.name) {
            let connection = try nextConnection()
            let start = ContinuousClock.now
            defer { timer(for: command.name).recordNanoseconds((ContinuousClock.now - start).inNanoseconds) }
            return try await connection.send(command)
        }
    }

    /// Runs one call through the breaker: an error reply is Redis answering, anything else
    /// (no connection, a timeout, a broken connection) counts against it.
    /// An error reply is Redis answering; anything else counts against it.
    private static func classify(_ error: any Error) -> CircuitBreakerState.Outcome {
        (error as? RedisError)?.code == .server ? .success : .failure
    }

    /// With tracing on, each call is a client span named after its command (never its
    /// arguments, which may hold tokens).
    private func guarded<Result>(_ operation: String, _ body: () async throws -> Result) async throws -> Result {
        do {
            // Inside a trace only (see `InstrumentedDatabase`).
            guard ServiceContext.current != nil else {
                return try await breaker.run(classify: Self.classify, body)
            }
            return try await withSpan(operation, ofKind: .client) { span in
                if span.isRecording {
                    span.updateAttributes { attributes in
                        attributes["db.system"] = "redis"
                        attributes["db.operation.name"] = operation
                        attributes["server.address"] = configuration.host
                        attributes["server.port"] = configuration.port
                    }
                }
                return try await breaker.run(classify: Self.classify, body)
            }
        } catch is CircuitBreakerError {
            throw RedisError.unavailable
        } catch let error as RedisError {
            if error.code != .server { failures.increment() }
            throw error
        }
    }

    /// Sends `commands` back to back on one connection; replies in order, error replies as values.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await guarded(commands.count == 1 ? commands[0].name : "PIPELINE") {
            try await nextConnection().pipeline(commands)
        }
    }

    /// Runs a Lua script by its SHA1 and loads it on the first `NOSCRIPT` (after a server
    /// restart or `SCRIPT FLUSH`), so the script body crosses the wire once per server.
    public func run(_ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument]) async throws -> RESPValue {
        try await run(script, calls: [(keys, arguments)])[0]
    }

    /// Runs a script once per call, pipelined in one round trip, the same way: by SHA1,
    /// loading it once if the server does not know it. An error reply to any call throws.
    public func run(_ script: RedisScript, calls: [(keys: [RedisArgument], arguments: [RedisArgument])]) async throws -> [RESPValue] {
        let commands = calls.map { call in
            RedisCommand("EVALSHA", arguments: [.string(script.sha1), .integer(call.keys.count)] + call.keys + call.arguments)
        }
        var replies = try await pipeline(commands)
        if replies.contains(where: { if case .error(let message) = $0 { message.hasPrefix("NOSCRIPT") } else { false } }) {
            try await send(RedisCommand("SCRIPT", "LOAD", .string(script.source)))
            replies = try await pipeline(commands)
        }
        for reply in replies { if case .error(let message) = reply { throw RedisError.server(message) } }
        return replies
    }

    private func nextConnection() throws -> RedisConnection {
        let start = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        for offset in 0..<slots.count {
            let index = (start &+ offset) % slots.count
            if let connection = slots[index].connection.withLock({ $0 }), connection.isActive { return connection }
        }
        throw RedisError.unavailable
    }

    private func timer(for command: String) -> Metrics.Timer {
        timers.withLock { timers in
            if let timer = timers[command] { return timer }
            let timer = Metrics.Timer(
                label: "db.client.operation.duration", dimensions: [("db.system", "redis"), ("db.operation", command)],
                preferredDisplayUnit: .seconds
            )
            timers[command] = timer
            return timer
        }
    }

    /// One slot's life: connect, watch, and reconnect after a growing, jittered pause.
    private func maintain(slot index: Int) async {
        var backoff = Backoff(first: configuration.reconnectBackoff.first, max: configuration.reconnectBackoff.max)
        var wasUp = true
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(configuration, on: eventLoopGroup.next())
                slots[index].connection.withLock { $0 = connection }
                connectedGauge.record(connected.add(1, ordering: .relaxed).newValue)
                if !wasUp {
                    logger.notice("redis connection restored", metadata: ["redis.slot": "\(index)"])
                    // A new connection is evidence Redis is back: trial commands go now
                    // rather than at the end of the open wait (a cache invalidation refused
                    // in that second would leave other instances stale).
                    breaker.tryNow()
                }
                wasUp = true
                backoff.reset()
                await connection.monitor(pingEvery: configuration.healthCheckInterval)
                slots[index].connection.withLock { $0 = nil }
                connectedGauge.record(connected.subtract(1, ordering: .relaxed).newValue)
            } catch {
                if wasUp {
                    logger.warning("redis connection failed; retrying in the background", metadata: ["error": "\(error)", "redis.slot": "\(index)"])
                }
                wasUp = false
            }
            guard !Task.isCancelled else { break }
            try? await Task.sleep(for: backoff.next())
        }
    }
}

/// One connection's place in the client; empty while reconnecting.
private final class Slot: Sendable {
    let connection = Mutex<RedisConnection?>(nil)
}
