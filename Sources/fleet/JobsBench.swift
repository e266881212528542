import ArgumentParser
import FleetApp
import FleetData
import FleetJobs
import FleetSupport
import Foundation
import Logging
import ServiceLifecycle
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

        func run() async throws {
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
                let group = ServiceGroup(configuration: .init(services: [.init(service: worker)], logger: Logger(label: "fleet.bench")))
                return try await withThrowingTaskGroup(of: Void.self) { tasks in
                    let started = ContinuousClock.now
                    tasks.addTask { try await group.run() }
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
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                    try await empty(node)
                    return (throughput, recorder.percentiles([0.5, 0.99]))
                }
            }
            let (throughput, latency) = report
            print(
                String(
                    format: "{\"jobs_per_second\": %.0f, \"start_p50_ms\": %.2f, \"start_p99_ms\": %.2f, \"concurrency\": %d, \"wakeups\": %@}",
                    throughput, latency[0], latency[1], concurrency, pollOnly ? "false" : "true"
                )
            )
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
