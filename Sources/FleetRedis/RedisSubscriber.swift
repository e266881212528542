public import Logging
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization

/// Pub/sub on a connection of its own, resubscribed after every reconnect.
///
/// Messages published while the subscriber is disconnected are lost (Redis pub/sub keeps
/// nothing), so `events` reports each disconnect and each completed subscription; a
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

    /// Every event, for consumers that await them.
    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    /// Every event, delivered synchronously on the connection's event loop: for
    /// consumers whose handling is quick and must not wait for a free task thread.
    private let onEvent: (@Sendable (Event) -> Void)?
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let subscribed = Atomic<Bool>(false)

    public init(
        _ configuration: RedisConfiguration, channels: [String],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        onEvent: (@Sendable (Event) -> Void)? = nil
    ) {
        self.onEvent = onEvent
        precondition(!channels.isEmpty, "subscribe to at least one channel")
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        self.configuration = configuration
        self.channels = channels
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// True from `.subscribed` until `.disconnected`.
    public var isSubscribed: Bool { subscribed.load(ordering: .acquiring) }

    public func run() async throws {
        defer { continuation.finish() }
        await cancelWhenGracefulShutdown {
            var backoff = Backoff(first: self.configuration.reconnectBackoff.first, max: self.configuration.reconnectBackoff.max)
            while !Task.isCancelled {
                do {
                    let connection = try await RedisConnection.connect(self.configuration, on: self.eventLoopGroup.next()) { [self] push in
                        self.receive(push)
                    }
                    backoff.reset()
                    connection.sendWithoutReply(
                        [RedisCommand("SUBSCRIBE", arguments: self.channels.map { .string($0) })],
                        resp2Subscriber: connection.protocolVersion == 2
                    )
                    await connection.monitor(pingEvery: self.configuration.healthCheckInterval)
                } catch {
                    self.logger.debug("redis subscriber cannot connect", metadata: ["error": "\(error)"])
                }
                if self.subscribed.exchange(false, ordering: .acquiringAndReleasing) {
                    self.logger.warning("redis pub/sub connection lost; reconnecting")
                }
                self.emit(.disconnected)
                guard !Task.isCancelled else { break }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    private func emit(_ event: Event) {
        onEvent?(event)
        continuation.yield(event)
    }

    private func receive(_ push: RESPValue) {
        guard let elements = push.array, let kind = elements.first?.string else { return }
        switch kind {
        case "message" where elements.count == 3:
            guard let channel = elements[1].string, case .bulkString(let payload) = elements[2] else { return }
            emit(.message(channel: channel, payload: payload))
        case "subscribe" where elements.count == 3:
            // Each channel is confirmed with the running count; the last one completes it.
            if elements[2].int == channels.count {
                subscribed.store(true, ordering: .releasing)
                emit(.subscribed)
            }
        default:
            break
        }
    }
}
