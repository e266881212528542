import Logging
import Metrics

/// Turns postgres-nio's connection-pool events into the idle-connections gauge.
///
/// postgres-nio 1.x keeps its pool state to itself: the only place it reports a
/// connection opening or closing is a line on the pool's background logger ("Creating
/// new connection", "Connection creation failed", "Connection closed"). This handler sits
/// in front of the logger Fleet would have given the pool: it watches for those lines at
/// any level and passes on only what the real logger's level lets through, so the pool's
/// chatter costs a string comparison. A test checks the gauge against a real server, so a
/// postgres-nio that words them differently is caught.
///
/// Idle connections are counted as connecting − failed − closed − leased + released (a
/// connection being set up counts as idle for those milliseconds), on the same
/// `db.client.connection.count` gauge (`state="idle"`) as `InstrumentedDatabase`'s
/// `state="used"`: pools of one shard (a primary and its replicas) add up.
struct PoolConnectionEvents: LogHandler {
    let idle: Meter
    private let upstream: Logger
    var metadata: Logger.Metadata = [:]
    /// Debug, whatever `upstream` says: the pool's events are debug lines.
    var logLevel: Logger.Level = .debug

    init(forwardingTo upstream: Logger, idle: Meter) {
        self.upstream = upstream
        self.idle = idle
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        switch event.message.description {
        case "Creating new connection": idle.increment()
        case "Connection creation failed", "Connection closed": idle.decrement()
        default: break
        }
        guard event.level >= upstream.logLevel else { return }
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        upstream.log(
            level: event.level, event.message, metadata: merged, source: event.source, file: event.file, function: event.function, line: event.line
        )
    }
}
