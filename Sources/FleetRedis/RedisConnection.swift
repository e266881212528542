public import NIOCore
import FleetSupport
import NIOPosix

/// One connection to Redis, after its handshake (HELLO or AUTH, then SELECT).
///
/// Any number of tasks may send on it at once: commands are pipelined, and each caller
/// gets its own reply. A command that times out closes the connection, failing the
/// commands behind it, because a late reply would otherwise answer the wrong caller.
public final class RedisConnection: Sendable {
    public let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let commandTimeout: TimeAmount
    /// 3 when `HELLO 3` succeeded, 2 otherwise.
    public let protocolVersion: Int

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, commandTimeout: TimeAmount, protocolVersion: Int) {
        self.channel = channel
        self.handler = handler
        self.commandTimeout = commandTimeout
        self.protocolVersion = protocolVersion
    }

    /// Connects and runs the handshake. `onPush` receives out-of-band frames (pub/sub).
    public static func connect(
        _ configuration: RedisConfiguration,
        on eventLoop: any EventLoop,
        onPush: (@Sendable (RESPValue) -> Void)? = nil
    ) async throws -> RedisConnection {
        let channel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(onPush: onPush))
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .get()
        do {
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: channel.eventLoop)
            }.get()
            // The handshake gets the connect timeout: a stalled server must not hang us.
            var connection = RedisConnection(
                channel: channel, handler: handler, commandTimeout: TimeAmount(configuration.connectTimeout), protocolVersion: 2
            )
            let version = try await connection.handshake(configuration)
            connection = RedisConnection(
                channel: channel, handler: handler, commandTimeout: TimeAmount(configuration.commandTimeout), protocolVersion: version
            )
            return connection
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private func handshake(_ configuration: RedisConfiguration) async throws -> Int {
        var version = 2
        if configuration.preferRESP3 {
            var hello: [RedisArgument] = ["3"]
            if let password = configuration.password {
                hello += ["AUTH", .string(configuration.username ?? "default"), .string(password)]
            }
            if let name = configuration.clientName { hello += ["SETNAME", .string(name)] }
            do {
                _ = try await send(RedisCommand("HELLO", arguments: hello))
                version = 3
            } catch let error as RedisError where error.isServerError("NOPROTO") || (error.code == .server && error.message.contains("unknown command")) {
                version = 2
            }
        }
        if version == 2 {
            if let password = configuration.password {
                if let username = configuration.username {
                    _ = try await send(RedisCommand("AUTH", .string(username), .string(password)))
                } else {
                    _ = try await send(RedisCommand("AUTH", .string(password)))
                }
            }
            if let name = configuration.clientName { _ = try await send(RedisCommand("CLIENT", "SETNAME", .string(name))) }
        }
        if configuration.database != 0 {
            _ = try await send(RedisCommand("SELECT", .integer(configuration.database)))
        }
        return version
    }

    public var isActive: Bool { channel.isActive }

    /// Sends one command; an error reply is thrown as `RedisError.server`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let reply = try await sendAll([command])[0]
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// Sends commands in one write and returns their replies in order; error replies stay
    /// values, so one failing command does not hide the others' results.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        try await sendAll(commands)
    }

    private func sendAll(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for future in enqueue(commands) { replies.append(try await future.get()) }
        return replies
    }

    /// Queues commands for sending; each future completes with its reply.
    func enqueue(_ commands: [RedisCommand]) -> [EventLoopFuture<RESPValue>] {
        let eventLoop = channel.eventLoop
        let promises = commands.map { _ in eventLoop.makePromise(of: RESPValue.self) }
        let handler = self.handler
        let timeout = commandTimeout
        if eventLoop.inEventLoop {
            handler.value.send(commands, promises: promises, timeout: timeout)
        } else {
            eventLoop.execute { handler.value.send(commands, promises: promises, timeout: timeout) }
        }
        return promises.map(\.futureResult)
    }

    /// Sends commands whose replies come back as pushes (SUBSCRIBE and friends).
    func sendWithoutReply(_ commands: [RedisCommand], resp2Subscriber: Bool) {
        let handler = self.handler
        let timeout = commandTimeout
        channel.eventLoop.execute {
            handler.value.resp2Subscriber = resp2Subscriber
            handler.value.send(commands, promises: commands.map { _ in nil }, timeout: timeout)
        }
    }

    /// Returns when the connection closes, stops answering pings sent every `interval`, or
    /// the calling task is cancelled, with the reason; the connection is closed by then.
    @discardableResult
    public func monitor(pingEvery interval: Duration) async -> any Error {
        let channel = self.channel
        return await withTaskCancellationHandler {
            await withTaskGroup(of: (any Error)?.self) { group in
                group.addTask {
                    try? await channel.closeFuture.get()
                    return RedisError.connectionClosed
                }
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            try await Task.sleep(for: interval)
                            try await self.send(RedisCommand("PING"))
                        } catch {
                            return error
                        }
                    }
                    return CancellationError()
                }
                let reason = await group.next() ?? nil
                group.cancelAll()
                channel.close(promise: nil)
                return reason ?? CancellationError()
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    public func close() async {
        try? await channel.close()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.inNanoseconds)
    }
}
