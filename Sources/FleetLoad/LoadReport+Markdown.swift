public import Foundation

extension LoadReport {
    /// A summary for people: the SLO verdict first, then one table row per operation and the
    /// plots (`throughput.png` and `latency.png` beside it).
    public func markdown() -> String {
        var lines = ["# Load test", ""]
        let started = ISO8601DateFormatter().string(from: startedAt)
        lines.append("Started \(started); measured \(Self.number(durationSeconds)) s after a \(Self.number(warmupSeconds)) s warm-up (\(warmupRequests) requests).")
        lines.append("")
        for key in parameters.keys.sorted() { lines.append("- \(key): `\(parameters[key] ?? "")`") }
        lines.append("")
        let observed = "p95 \(slo.p95Ms.map { Self.number($0) + " ms" } ?? "none") (objective ≤ \(Self.number(slo.objective.p95Milliseconds)) ms), "
            + "error rate \(Self.number(slo.errorRatePercent)) % (objective ≤ \(Self.number(slo.objective.errorRatePercent)) %)"
        lines.append("**SLO: \(slo.pass ? "PASS" : "FAIL")** — \(observed)" + (slo.failures.isEmpty ? "" : ": " + slo.failures.joined(separator: "; ")))
        lines.append("")
        lines.append("| operation | requests | rate/s | errors | p50 ms | p95 ms | p99 ms | max ms |")
        lines.append("|---|--:|--:|--:|--:|--:|--:|--:|")
        for row in operations + [total] {
            let name = row.name == "total" ? "**total**" : row.name
            let latency = row.latencyMs.map { [$0.p50, $0.p95, $0.p99, $0.max].map(Self.number) } ?? ["-", "-", "-", "-"]
            let errors = row.errors == 0 ? "0" : "\(row.errors) (\(Self.number(row.errorRatePercent)) %)"
            lines.append("| \(name) | \(row.requests) | \(Self.number(row.rate)) | \(errors) | " + latency.joined(separator: " | ") + " |")
        }
        if !total.errorsByKind.isEmpty {
            lines.append("")
            lines.append("Errors by kind: " + total.errorsByKind.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ".")
        }
        lines.append("")
        lines.append("![throughput and errors per second](throughput.png)")
        lines.append("")
        lines.append("![p50, p95 and p99 latency per second](latency.png)")
        lines.append("")
        return lines.joined(separator: "\n")
    }

    /// Up to two decimals, none for whole numbers.
    static func number(_ value: Double) -> String {
        ServiceLevelObjective.format(value)
    }

    /// Requests and errors per second over the run.
    func throughputChart() -> LineChart {
        LineChart(
            title: "Throughput and errors", yLabel: "per second", xLabel: "seconds", x: intervals.map { Double($0.second) },
            series: [
                .init(name: "ok", color: .blue, values: intervals.map { Double($0.requests - $0.errors) }),
                .init(name: "errors", color: .red, values: intervals.map { Double($0.errors) }),
            ]
        )
    }

    /// p50, p95 and p99 of each second's successful requests.
    func latencyChart() -> LineChart {
        LineChart(
            title: "Latency", yLabel: "ms", xLabel: "seconds", x: intervals.map { Double($0.second) },
            series: [
                .init(name: "p50", color: .green, values: intervals.map(\.p50Ms)),
                .init(name: "p95", color: .orange, values: intervals.map(\.p95Ms)),
                .init(name: "p99", color: .purple, values: intervals.map(\.p99Ms)),
            ]
        )
    }

    /// Writes `report.json`, `report.md`, `throughput.png` and `latency.png` into
    /// `directory` (created if missing).
    public func write(to directory: URL) throws(LoadError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try json().write(to: directory.appendingPathComponent("report.json"))
            try Data(markdown().utf8).write(to: directory.appendingPathComponent("report.md"))
            try Data(throughputChart().png()).write(to: directory.appendingPathComponent("throughput.png"))
            try Data(latencyChart().png()).write(to: directory.appendingPathComponent("latency.png"))
        } catch {
            throw LoadError(.output, "could not write the report to \(directory.path): \(error)")
        }
    }
}
