import FleetSupport
import Logging
import Metrics
import Synchronization

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
    let connections: PoolConnections
    private let upstream: Logger
    var metadata: Logger.Metadata = [:]
    /// Debug, whatever `upstream` says: the pool's events are debug lines.
    var logLevel: Logger.Level = .debug

    init(forwardingTo upstream: Logger, idle: Meter, connections: PoolConnections) {
        self.upstream = upstream
        self.idle = idle
        self.connections = connections
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        switch event.message.description {
        case "Creating new connection":
            idle.increment()
            connections.open.add(1, ordering: .relaxed)
        case "Connection creation failed":
            idle.decrement()
            connections.open.subtract(1, ordering: .relaxed)
            connections.lastFailure.store(MonotonicClock.nanoseconds(), ordering: .relaxed)
        case "Connection closed":
            idle.decrement()
            connections.open.subtract(1, ordering: .relaxed)
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

/// What the pool's events say about reaching the server: how many connections are open or
/// being opened, and when an attempt last failed. A lease waiting on a pool with nothing
/// open whose attempts fail is waiting for a server that is not there.
final class PoolConnections: Sendable {
    let open = Atomic<Int>(0)
    /// Monotonic nanoseconds of the last failed attempt; 0 for none.
    let lastFailure = Atomic<UInt64>(0)

    /// Whether nothing is open and an attempt failed at or after `since`.
    func unreachable(since: UInt64) -> Bool {
        open.load(ordering: .relaxed) <= 0 && lastFailure.load(ordering: .relaxed) >= since
    }
}
