import Foundation
public import Logging
import Synchronization

/// A log handler that writes one line per event to standard error:
/// `2026-01-01T00:00:00Z info fleet: key=value ... message`.
///
/// Unlike swift-log's `StreamLogHandler`, which re-renders all metadata every time a key
/// is set, this one stores metadata as given and renders it only when something is
/// logged. Setting the request id on every request's logger is therefore free when the
/// level filters everything out, which is the common case under load.
public struct FleetLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var line = Self.timestamp() + " " + event.level.rawValue + " " + label + ":"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(value)"
        }
        line += " " + event.message.description + "\n"
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    private static let output = Mutex(())

    private static func timestamp() -> String {
        Date.now.formatted(.iso8601)
    }
}
