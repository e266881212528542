import Foundation
public import Logging
import Synchronization

/// A log handler that writes one line per event to standard error, as text
/// (`2026-01-01T00:00:00Z info fleet: key=value ... message`) or as one JSON object.
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
    private let format: LogFormat

    public init(label: String, level: Logger.Level, format: LogFormat = .text, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let line = render(level: event.level, message: event.message.description, metadata: merged, time: Date.now)
        Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// One line, newline included.
    func render(level: Logger.Level, message: String, metadata: Logger.Metadata, time: Date) -> String {
        switch format {
        case .text:
            var line = time.formatted(.iso8601) + " " + level.rawValue + " " + label + ":"
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
                line += " \(key)=\(value)"
            }
            return line + " " + message + "\n"
        case .json:
            return JSONLogLine(time: time, level: level, label: label, message: message, metadata: metadata).rendered + "\n"
        }
    }

    private static let output = Mutex(())
}
