/// How log lines are written to standard error.
///
/// `text` is for people reading a terminal; `json` is one object per line for a log
/// pipeline (Loki, Elasticsearch, CloudWatch), so no parser has to guess where a message
/// ends and metadata begins.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}
