import ArgumentParser
import FleetApp
import FleetData
import FleetJobs
import FleetSupport
import Foundation
import Logging
import Synchronization

extension Jobs {
    /// Measures the queue on the configured database with a no-op handler: jobs per second
    /// with a backlog, and the delay from enqueue to start one job at a time. Uses its own
    /// queue (`bench`), emptied before and after.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure jobs per second (no-op handler) and enqueue-to-start latency on this database."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: "Jobs in the backlog for the throughput run.") var jobs = 20_000
        @Option(help: "Jobs enqueued one at a time for the latency run.") var latencyJobs = 300
        @Option(help: "Pause between the latency run's jobs, in milliseconds.") var gap = 20
        @Option(help: "Jobs of the queue running at once.") var concurrency = 8
        @Flag(help: "No wake-ups (no NOTIFY, no in-process signal): polling only.") var pollOnly = false
        @Option(help: "Instead: add N completed jobs past retention and time their deletion in batches, with a job run beside it.")
        var retention: Int?

        func run() async throws {
            if let retention {
                try await measureRetention(retention)
                return
            }
            let type = JobType<Int>("bench.noop", queue: "bench")
            let recorder = StartDelays()
            var handlers = JobHandlers()
            handlers.register(type) { _, job in
                recorder.record(WallClock.microseconds() - job.runAt)
                return .completed
            }
            var configuration = JobWorkerConfiguration(queues: ["bench": concurrency])
            configuration.listen = !pollOnly
            let report = try await withShards(options) { shards in
                let node = shards.nodes[0]
                try await empty(node)
                let bar = ProgressBar()
                var enqueued = 0
                while enqueued < jobs {
                    let batch = min(1000, jobs - enqueued)
                    try await node.transaction { db in
                        let now = WallClock.microseconds()
                        for index in 0..<batch { try await JobStore().enqueue(try type.make(index, runAt: now), now: now, in: db) }
                    }
                    enqueued += batch
                    bar.update("enqueue", enqueued, jobs)
                }
                let worker = JobWorker(databases: [node], handlers: handlers, configuration: configuration, logger: Logger(label: "fleet.bench"))
                let result = try await whileRunning(worker, logger: Logger(label: "fleet.bench")) {
                    let started = ContinuousClock.now
                    while recorder.count < jobs {
                        try await Task.sleep(for: .milliseconds(100))
                        bar.update("run", recorder.count, jobs)
                    }
                    let throughput = Double(jobs) / (ContinuousClock.now - started).inSeconds
                    recorder.reset()
                    for index in 0..<latencyJobs {
                        try await node.transaction { db in
                            let now = WallClock.microseconds()
                            try await JobStore().enqueue(try type.make(index, runAt: now), now: now, in: db)
                        }
                        if node.dialect == .sqlite, !pollOnly { worker.notify(queue: "bench") }
                        try await Task.sleep(for: .milliseconds(gap))
                        bar.update("latency", index + 1, latencyJobs)
                    }
                    while recorder.count < latencyJobs { try await Task.sleep(for: .milliseconds(50)) }
                    return (throughput, recorder.percentiles([0.5, 0.99]))
                }
                try await empty(node)
                return result
            }
            let (throughput, latency) = report
            print(
                String(
                    format: "{\"jobs_per_second\": %.0f, \"start_p50_ms\": %.2f, \"start_p99_ms\": %.2f, \"concurrency\": %d, \"wakeups\": %@}",
                    throughput, latency[0], latency[1], concurrency, pollOnly ? "false" : "true"
                )
            )
        }

        /// Retention on a big backlog: N finished jobs deleted 1,000 at a time, each batch its
        /// own transaction, while a probe enqueues, claims and completes a job every 50 ms
        /// (what a long lock would stall).
        private func measureRetention(_ count: Int) async throws {
            let stats = try await withShards(options) { shards in
                let node = shards.nodes[0]
                try await empty(node)
                let bar = ProgressBar()
                var inserted = 0
                while inserted < count {
                    let chunk = min(100_000, count - inserted)
                    try await node.transaction { db in
                        let rows: SQLQuery = db.dialect == .postgres
                            ? "SELECT g FROM generate_series(1, \(bind: chunk)) AS g"
                            : "WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < \(bind: chunk)) SELECT g FROM n"
                        try await db.execute(
                            """
                            INSERT INTO jobs (queue, name, payload, state, priority, run_at, max_attempts, created_at, finished_at)
                            SELECT 'bench', 'bench.noop', '0', 'completed', 0, 0, 1, 0, 1 FROM (\(rows)) AS rows
                            """
                        )
                    }
                    inserted += chunk
                    bar.update("insert", inserted, count)
                }
                let sizeBefore = try await Self.size(node)
                let probe = Task {
                    var latencies: [Duration] = []
                    let type = JobType<Int>("bench.probe", queue: "bench-probe")
                    while !Task.isCancelled {
                        let started = ContinuousClock.now
                        let now = WallClock.microseconds()
                        try await node.transaction { db in _ = try await JobStore().enqueue(try type.make(0), now: now, in: db) }
                        for job in try await JobStore().claim(queue: "bench-probe", limit: 1, lease: .seconds(30), now: now, in: node) {
                            try await JobStore().complete(job, now: now, in: node)
                        }
                        latencies.append(.now - started)
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    return latencies
                }
                var batches: [Duration] = []
                let started = ContinuousClock.now
                while true {
                    let batchStarted = ContinuousClock.now
                    let deleted = try await JobStore().deleteFinished(.completed, before: 2, limit: 1000, in: node)
                    batches.append(.now - batchStarted)
                    if batches.count % 50 == 0 { bar.update("delete", batches.count * 1000, count) }
                    if deleted < 1000 { break }
                }
                let total = ContinuousClock.now - started
                probe.cancel()
                let probes = try await probe.value.sorted()
                let sizeAfter = try await Self.size(node)
                try await node.transaction { db in try await db.execute("DELETE FROM jobs WHERE queue IN ('bench', 'bench-probe')") }
                let sorted = batches.sorted()
                return (total, sorted, probes, sizeBefore, sizeAfter)
            }
            let (total, batches, probes, before, after) = stats
            func ms(_ duration: Duration?) -> Double { (duration?.inSeconds ?? 0) * 1000 }
            print(
                String(
                    format: "{\"jobs\": %d, \"seconds\": %.1f, \"rows_per_second\": %.0f, \"batch_p50_ms\": %.1f, \"batch_max_ms\": %.1f, \"probe_p50_ms\": %.1f, \"probe_max_ms\": %.1f, \"table_mb_before\": %.1f, \"table_mb_after\": %.1f}",
                    count, total.inSeconds, Double(count) / total.inSeconds, ms(batches[batches.count / 2]), ms(batches.last),
                    ms(probes.isEmpty ? nil : probes[probes.count / 2]), ms(probes.last), before, after
                )
            )
        }

        /// The jobs table's size in MB (PostgreSQL: with its indexes; SQLite: the file's pages in use).
        private static func size(_ node: some Database) async throws -> Double {
            try await node.readLatest { db in
                let bytes: Int64 = db.dialect == .postgres
                    ? try await db.first("SELECT pg_total_relation_size('jobs')")?.decode(at: 0) ?? 0
                    : (try await db.first("SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())")?.decode(at: 0, as: Int64.self) ?? 0) * 4096
                return Double(bytes) / 1_048_576
            }
        }

        private func empty(_ node: some Database) async throws {
            try await node.transaction { db in try await db.execute("DELETE FROM jobs WHERE queue = 'bench'") }
        }
    }
}

/// Start delays seen by the handler, in microseconds.
private final class StartDelays: Sendable {
    private let delays = Mutex<[Int64]>([])
    var count: Int { delays.withLock { $0.count } }
    func record(_ delay: Int64) { delays.withLock { $0.append(delay) } }
    func reset() { delays.withLock { $0 = [] } }

    /// The given percentiles, in milliseconds.
    func percentiles(_ ranks: [Double]) -> [Double] {
        let sorted = delays.withLock { $0.sorted() }
        guard !sorted.isEmpty else { return ranks.map { _ in 0 } }
        return ranks.map { Double(sorted[min(sorted.count - 1, Int(($0 * Double(sorted.count)).rounded(.up)) - 1)]) / 1000 }
    }
}
