import Foundation

/// The fields of Linux's `/proc/self/stat` that Prometheus's standard process metrics
/// need, parsed without trusting the command name (field 2, in parentheses, which may hold
/// spaces and parentheses of its own).
struct ProcessStat: Equatable {
    /// User and system CPU time, in clock ticks.
    var userTicks: UInt64
    var systemTicks: UInt64
    /// When the process started, in clock ticks after boot.
    var startTicks: UInt64
    var virtualBytes: UInt64
    var residentPages: UInt64

    init(userTicks: UInt64, systemTicks: UInt64, startTicks: UInt64, virtualBytes: UInt64, residentPages: UInt64) {
        self.userTicks = userTicks
        self.systemTicks = systemTicks
        self.startTicks = startTicks
        self.virtualBytes = virtualBytes
        self.residentPages = residentPages
    }

    /// Nil when the text is not a stat line.
    init?(_ text: String) {
        guard let close = text.lastIndex(of: ")") else { return nil }
        // After the name: field 3 (state) is index 0, so field N is index N - 3.
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        func field(_ number: Int) -> UInt64? {
            let index = number - 3
            return fields.indices.contains(index) ? UInt64(fields[index].trimmingCharacters(in: .whitespacesAndNewlines)) : nil
        }
        guard let user = field(14), let system = field(15), let start = field(22), let virtual = field(23), let resident = field(24) else {
            return nil
        }
        self.init(userTicks: user, systemTicks: system, startTicks: start, virtualBytes: virtual, residentPages: resident)
    }
}
