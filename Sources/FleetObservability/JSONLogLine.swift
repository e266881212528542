import Foundation
import Logging

/// One log event as a single-line JSON object, with the fields a log pipeline indexes at
/// the top level (`time`, `level`, `logger`, `message`, `request_id`, `trace_id`,
/// `span_id`) and every other piece of metadata under `metadata`.
///
/// Written by hand rather than with `JSONEncoder`: a log line is rendered on the request
/// path, and metadata values are nested strings, arrays and dictionaries that need no
/// reflection.
struct JSONLogLine {
    let time: Date
    let level: Logger.Level
    let label: String
    let message: String
    let metadata: Logger.Metadata

    /// Metadata keys promoted to top-level fields, under their pipeline names.
    static let promoted: [(key: String, field: String)] = [
        ("hb.request.id", "request_id"), ("trace_id", "trace_id"), ("span_id", "span_id"),
    ]

    var rendered: String {
        var out = "{\"time\":"
        Self.append(string: time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)), to: &out)
        out += ",\"level\":"
        Self.append(string: level.rawValue, to: &out)
        out += ",\"logger\":"
        Self.append(string: label, to: &out)
        out += ",\"message\":"
        Self.append(string: message, to: &out)
        var rest = metadata
        for (key, field) in Self.promoted {
            guard let value = rest.removeValue(forKey: key) else { continue }
            out += ",\"\(field)\":"
            Self.append(value, to: &out)
        }
        if !rest.isEmpty {
            out += ",\"metadata\":"
            Self.append(.dictionary(rest), to: &out)
        }
        return out + "}"
    }

    static func append(_ value: Logger.MetadataValue, to out: inout String) {
        switch value {
        case .string(let string): append(string: string, to: &out)
        case .stringConvertible(let convertible): append(string: convertible.description, to: &out)
        case .array(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                append(element, to: &out)
            }
            out += "]"
        case .dictionary(let dictionary):
            out += "{"
            for (index, (key, element)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out += "," }
                append(string: key, to: &out)
                out += ":"
                append(element, to: &out)
            }
            out += "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, so a
    /// message with a newline cannot split the line or forge another event.
    static func append(string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
