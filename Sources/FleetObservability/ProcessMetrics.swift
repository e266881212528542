import Foundation
public import Prometheus

#if canImport(Glibc)
import Glibc
#endif

/// The process's own figures under the names every Prometheus client library exports
/// (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`…),
/// so dashboards and autoscaling rules written for any service read Fleet's too. Read from
/// `/proc/self` when `/metrics` is scraped: nothing runs between scrapes. Elsewhere than
/// Linux nothing is exported.
public final class ProcessMetrics: Sendable {
    private let cpu: Gauge
    private let resident: Gauge
    private let virtual: Gauge
    private let openDescriptors: Gauge
    private let maxDescriptors: Gauge
    private let started: Gauge

    public init(registry: PrometheusCollectorRegistry) {
        cpu = registry.makeGauge(name: "process_cpu_seconds_total", help: "User and system CPU time spent, in seconds.")
        resident = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size, in bytes.")
        virtual = registry.makeGauge(name: "process_virtual_memory_bytes", help: "Virtual memory size, in bytes.")
        openDescriptors = registry.makeGauge(name: "process_open_fds", help: "Open file descriptors.")
        maxDescriptors = registry.makeGauge(name: "process_max_fds", help: "Most file descriptors the process may open.")
        started = registry.makeGauge(name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch, in seconds.")
    }

    /// Reads the figures now (called just before a scrape is rendered).
    public func update() {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8), let stat = ProcessStat(text) else { return }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        guard ticks > 0 else { return }
        cpu.set(Double(stat.userTicks + stat.systemTicks) / ticks)
        resident.set(Double(stat.residentPages) * page)
        virtual.set(Double(stat.virtualBytes))
        if let boot = Self.bootTime { started.set(boot + Double(stat.startTicks) / ticks) }
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openDescriptors.set(Double(descriptors.count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxDescriptors.set(Double(limit.rlim_cur)) }
        #endif
    }

    /// When the machine booted (`btime` in `/proc/stat`), in seconds since the epoch.
    private static let bootTime: Double? = {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
    }()
}
