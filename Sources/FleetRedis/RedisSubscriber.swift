public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import FleetSupport
import Synchronization

/// Pub/sub on a connection of its own, resubscribed after every reconnect.
///
/// Messages published while the subscriber is disconnected are lost (Redis pub/sub keeps
/// nothing), so `onEvent` hears of each disconnect and each completed subscription; a
/// consumer that keeps state derived from messages (a cache) must distrust it from
/// `.disconnected` until `.subscribed`.
public final class RedisSubscriber: Service, Sendable {
    public enum Event: Sendable, Equatable {
        /// A message on one of the channels.
        case message(channel: String, payload: ByteBuffer)
        /// Every channel is subscribed; messages from here on arrive.
        case subscribed
        /// The connection is gone; messages may be missed until the next `.subscribed`.
        case disconnected
    }

    /// Every event, delivered synchronously on the connection's event loop, in order: the
    /// handler must be quick (a consumer that wants to await events can feed an
    /// `AsyncStream` from it). Running on the event loop is what lets `barrier()` promise
    /// that earlier messages were handled.
    private let onEvent: @Sendable (Event) -> Void
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let subscribed = Atomic<Bool>(false)
    private let barriers = Mutex(Barriers())

    /// The connection in use and the PINGs sent on it for `barrier()`.
    private struct Barriers {
        var connection: RedisConnection?
        /// The PING in flight, which callers that arrived before it was sent may share.
        var current: EventLoopFuture<Void>?
        /// Callers that arrived while `current` was in flight wait for the next PING.
        var next: EventLoopPromise<Void>?
    }

    public init(
        _ configuration: RedisConfiguration, channels: [String],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        onEvent: @escaping @Sendable (Event) -> Void
    ) {
        self.onEvent = onEvent
        precondition(!channels.isEmpty, "subscribe to at least one channel")
        self.configuration = configuration
        self.channels = channels
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// True from `.subscribed` until `.disconnected`.
    public var isSubscribed: Bool { subscribed.load(ordering: .acquiring) }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var backoff = Backoff(first: self.configuration.reconnectBackoff.first, max: self.configuration.reconnectBackoff.max)
            while !Task.isCancelled {
                var reason: any Error = RedisError.connectionClosed
                do {
                    let connection = try await RedisConnection.connect(self.configuration, on: self.eventLoopGroup.next()) { [self] push in
                        self.receive(push)
                    }
                    backoff.reset()
                    self.barriers.withLock { $0.connection = connection }
                    connection.sendWithoutReply(
                        [RedisCommand("SUBSCRIBE", arguments: self.channels.map { .string($0) })],
                        resp2Subscriber: connection.protocolVersion == 2
                    )
                    reason = await connection.monitor(pingEvery: self.configuration.healthCheckInterval)
                    self.barriers.withLock { $0.connection = nil }
                } catch {
                    self.logger.debug("redis subscriber cannot connect", metadata: ["error": "\(error)"])
                }
                if self.subscribed.exchange(false, ordering: .acquiringAndReleasing) {
                    self.logger.warning("redis pub/sub connection lost; reconnecting", metadata: ["reason": "\(reason)"])
                }
                self.onEvent(.disconnected)
                guard !Task.isCancelled else { break }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Returns once every message published before the call has been delivered (to
    /// `onEvent` handlers, which ran before this returns).
    ///
    /// It sends a PING on the subscription's own connection: Redis answers commands in
    /// order and writes a client's pushes and replies to one stream, so a message
    /// published before the PING reaches this connection before the PONG. Concurrent
    /// callers share PINGs (at most two round trips each), which keeps the cost flat
    /// under load. Throws when not subscribed or when the PING fails.
    public func barrier() async throws {
        guard isSubscribed else { throw RedisError.unavailable }
        enum Plan {
            case send(RedisConnection, EventLoopPromise<Void>)
            case wait(EventLoopFuture<Void>)
        }
        let plan: Plan = try barriers.withLock { state in
            guard let connection = state.connection, connection.isActive else { throw RedisError.unavailable }
            if state.current == nil {
                let promise = connection.channel.eventLoop.makePromise(of: Void.self)
                state.current = promise.futureResult
                return .send(connection, promise)
            }
            if state.next == nil { state.next = connection.channel.eventLoop.makePromise() }
            return .wait(state.next!.futureResult)
        }
        switch plan {
        case .send(let connection, let promise):
            // Sent outside the lock: a PING that fails at once completes synchronously.
            ping(connection).cascade(to: promise)
            try await promise.futureResult.get()
        case .wait(let future):
            try await future.get()
        }
    }

    /// Sends one barrier PING; when it completes, sends the next one if callers wait for it.
    private func ping(_ connection: RedisConnection) -> EventLoopFuture<Void> {
        let future = connection.enqueue([RedisCommand("PING")])[0].map { _ in }
        future.whenComplete { [self] _ in
            let (waiting, connection) = barriers.withLock { state -> (EventLoopPromise<Void>?, RedisConnection?) in
                state.current = nil
                guard let next = state.next else { return (nil, nil) }
                state.next = nil
                state.current = next.futureResult
                return (next, state.connection)
            }
            guard let waiting else { return }
            guard let connection, connection.isActive else {
                barriers.withLock { $0.current = nil }
                waiting.fail(RedisError.unavailable)
                return
            }
            ping(connection).cascade(to: waiting)
        }
        return future
    }

    private func receive(_ push: RESPValue) {
        guard let elements = push.array, let kind = elements.first?.string else { return }
        switch kind {
        case "message" where elements.count == 3:
            guard let channel = elements[1].string, case .bulkString(let payload) = elements[2] else { return }
            onEvent(.message(channel: channel, payload: payload))
        case "subscribe" where elements.count == 3:
            // Each channel is confirmed with the running count; the last one completes it.
            if elements[2].int == channels.count {
                subscribed.store(true, ordering: .releasing)
                onEvent(.subscribed)
            }
        default:
            break
        }
    }
}
