import NIOCore

/// Matches replies to commands on one connection, in order (RESP replies come back in the
/// order commands were sent), and hands push frames to `onPush`.
///
/// Every method runs on the channel's event loop. Writes made in one burst share one
/// flush, so concurrent callers are pipelined onto the socket without asking for it.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = RESPValue
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<RESPValue>
        var timeout: Scheduled<Void>?
    }

    private var pending = CircularBuffer<Pending>()
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var closedError: RedisError?
    private let onPush: (@Sendable (RESPValue) -> Void)?
    /// On a RESP2 connection in subscribe mode, pub/sub frames look like ordinary arrays.
    var resp2Subscriber = false

    init(onPush: (@Sendable (RESPValue) -> Void)?) {
        self.onPush = onPush
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(.connectionClosed)
        self.context = nil
    }

    /// Writes `commands`; each gets its reply through its promise, or none when nil
    /// (SUBSCRIBE, whose confirmations arrive as pushes).
    func send(_ commands: [RedisCommand], promises: [EventLoopPromise<RESPValue>?], timeout: TimeAmount) {
        guard let context, closedError == nil else {
            for promise in promises { promise?.fail(closedError ?? .connectionClosed) }
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 * commands.count)
        for command in commands { command.encode(into: &buffer) }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        for promise in promises {
            guard let promise else { continue }
            let timer = context.eventLoop.scheduleTask(in: timeout) { bound.value.timedOut() }
            pending.append(Pending(promise: promise, timeout: timer))
        }
        context.write(wrapOutboundOut(buffer), promise: nil)
        if !flushScheduled {
            flushScheduled = true
            context.eventLoop.execute {
                let handler = bound.value
                handler.flushScheduled = false
                handler.context?.flush()
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if isPush(value) {
            onPush?(value)
            return
        }
        guard let first = pending.popFirst() else {
            fail(context, .protocolError("reply without a command"))
            return
        }
        first.timeout?.cancel()
        first.promise.succeed(value)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, error as? RedisError ?? .protocolError("\(error)"))
    }

    private func timedOut() {
        // The late reply would be taken for the next command's: this connection is done.
        guard let context else { return }
        fail(context, .timeout)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if closedError == nil { closedError = error == .timeout ? .connectionClosed : error }
        // The command that timed out reports a timeout; the ones behind it a closed connection.
        var first = true
        while let entry = pending.popFirst() {
            entry.timeout?.cancel()
            entry.promise.fail(first ? error : (error == .timeout ? .connectionClosed : error))
            first = false
        }
    }

    private func isPush(_ value: RESPValue) -> Bool {
        if case .push = value { return true }
        guard resp2Subscriber, case .array(let elements) = value, let kind = elements.first?.string else { return false }
        return ["message", "pmessage", "subscribe", "unsubscribe", "psubscribe", "punsubscribe"].contains(kind)
    }
}
