public import HummingbirdCore
public import Logging
import Metrics
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 channel with deadlines for slow and idle clients
/// (`ConnectionTimeouts`): the pipeline of `HTTP1Channel`, plus a watcher of raw bytes at
/// its front and one of request and response parts behind the codec. A connection closed
/// for a deadline counts in `http.server.connection.timeouts` by `phase`.
public struct FleetHTTP1Channel: HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public let responder: HTTPChannelHandler.Responder
    let timeouts: ConnectionTimeouts
    let maxHeaderBytes: Int

    public init(responder: @escaping HTTPChannelHandler.Responder, timeouts: ConnectionTimeouts, maxHeaderBytes: Int = 80 * 1024) {
        self.responder = responder
        self.timeouts = timeouts
        self.maxHeaderBytes = maxHeaderBytes
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let tracker = ConnectionDeadlineTracker(channel: channel, timeouts: timeouts) { phase in
                Counter(label: "http.server.connection.timeouts", dimensions: [("phase", phase.name)]).increment()
            }
            try channel.pipeline.syncOperations.addHandler(RawBytesWatcher(tracker))
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = maxHeaderBytes
            limits.maxHeaderListSize = maxHeaderBytes
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // NIOAsyncChannel reads requests in order
                withErrorHandling: false,  // the application handles errors
                withOutboundHeaderValidation: false,  // HTTPTypes validates them
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPPartWatcher(tracker))
            // Hummingbird's own: lets in-flight requests finish on graceful shutdown.
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    public func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with deadlines for slow and idle clients.
    public static func http1(timeouts: ConnectionTimeouts) -> HTTPServerBuilder {
        .init { responder in FleetHTTP1Channel(responder: responder, timeouts: timeouts) }
    }
}
