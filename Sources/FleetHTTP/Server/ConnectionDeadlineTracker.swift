import FleetSupport
public import NIOCore
import NIOHTTPTypes

/// Applies `ConnectionDeadlines` to one channel: sees the raw bytes (at the front of the
/// pipeline) and the parsed request parts and written response parts (behind the HTTP
/// codec), and closes the channel when the client overruns a deadline. Event-loop bound:
/// every call comes on the channel's event loop.
final class ConnectionDeadlineTracker {
    private var deadlines: ConnectionDeadlines<ContinuousClock.Instant>
    private var timer: Scheduled<Void>?
    private var scheduledFor: ContinuousClock.Instant?
    private var stopped = false
    private let channel: any Channel
    private let closed: (ConnectionDeadlines<ContinuousClock.Instant>.Phase) -> Void

    init(channel: any Channel, timeouts: ConnectionTimeouts, onClose: @escaping (ConnectionDeadlines<ContinuousClock.Instant>.Phase) -> Void) {
        self.channel = channel
        self.deadlines = ConnectionDeadlines(timeouts: timeouts, now: ContinuousClock.now)
        self.closed = onClose
    }

    func bytesReceived() { update { $0.bytesReceived(at: ContinuousClock.now) } }
    func headReceived() { update { $0.headReceived(at: ContinuousClock.now) } }
    func endReceived() { update { $0.endReceived(at: ContinuousClock.now) } }
    func responseSent() { update { $0.responseSent(at: ContinuousClock.now) } }

    func start() { schedule() }

    func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
    }

    private func update(_ change: (inout ConnectionDeadlines<ContinuousClock.Instant>) -> Void) {
        change(&deadlines)
        guard !stopped else { return }
        // A timer already set for no later than the new deadline will find it when it fires.
        if let deadline = deadlines.deadline, scheduledFor.map({ deadline < $0 }) ?? true { schedule() }
    }

    private func schedule() {
        guard !stopped else { return }
        timer?.cancel()
        timer = nil
        scheduledFor = nil
        guard let deadline = deadlines.deadline else { return }
        scheduledFor = deadline
        let wait = TimeAmount.nanoseconds(max(0, (deadline - ContinuousClock.now).inNanoseconds))
        timer = channel.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: wait) { [self] in
            timer = nil
            scheduledFor = nil
            if let phase = deadlines.expired(at: ContinuousClock.now) {
                closed(phase)
                channel.close(promise: nil)
            } else {
                schedule()
            }
        }
    }
}

extension ConnectionDeadlines.Phase {
    var name: String {
        switch self {
        case .idle: "idle"
        case .header: "header"
        case .body: "body"
        }
    }
}

/// Sees every byte the client sends, before the HTTP decoder: a request starts with its
/// first byte, not when its headers are complete.
final class RawBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let tracker: ConnectionDeadlineTracker

    init(_ tracker: ConnectionDeadlineTracker) { self.tracker = tracker }

    func handlerAdded(context: ChannelHandlerContext) { if context.channel.isActive { tracker.start() } }
    func channelActive(context: ChannelHandlerContext) {
        tracker.start()
        context.fireChannelActive()
    }
    func channelInactive(context: ChannelHandlerContext) {
        tracker.stop()
        context.fireChannelInactive()
    }
    func handlerRemoved(context: ChannelHandlerContext) { tracker.stop() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        tracker.bytesReceived()
        context.fireChannelRead(data)
    }
}

/// Sees request parts as parsed and response parts as written, and stamps each request
/// head with the time it was read (`RequestArrival`).
final class HTTPPartWatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    let tracker: ConnectionDeadlineTracker

    init(_ tracker: ConnectionDeadlineTracker) { self.tracker = tracker }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            tracker.headReceived()
            RequestArrival.stamp(&head)
            context.fireChannelRead(wrapInboundOut(.head(head)))
            return
        case .body: break
        case .end: tracker.endReceived()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { tracker.responseSent() }
        context.write(data, promise: promise)
    }
}
