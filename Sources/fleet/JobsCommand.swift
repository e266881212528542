import ArgumentParser
import FleetApp
import FleetData
import FleetJobs
import FleetObservability
import FleetSupport
import Foundation
import Logging

/// What operators do with the jobs: look at the queues, list dead jobs, retry or discard one.
/// A job's id is `SHARD:ID` (the physical shard whose database holds it; `ID` alone on one shard).
struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and repair the job queues.",
        subcommands: [Stats.self, Dead.self, Retry.self, Discard.self, Bench.self]
    )

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each queue's ready, scheduled, running and dead jobs, and the oldest ready job's age.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let now = WallClock.microseconds()
            let stats = try await withShards(options) { shards in
                var rows: [(Int, QueueStats)] = []
                for (index, node) in shards.nodes.enumerated() {
                    rows += try await JobStore().stats(now: now, in: node).map { (index, $0) }
                }
                return rows
            }
            print(["shard", "queue", "ready", "scheduled", "running", "dead", "oldest ready (s)"].joined(separator: "\t"))
            for (shard, queue) in stats {
                print(
                    "\(shard)\t\(queue.queue)\t\(queue.ready)\t\(queue.scheduled)\t\(queue.running)\t\(queue.dead)\t"
                        + String(format: "%.1f", queue.oldestReadyAge(now: now))
                )
            }
        }
    }

    struct Dead: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest dead jobs with their last error.")
        @OptionGroup var options: ConfigOptions
        @Option(help: "How many, per shard.") var limit = 50

        func run() async throws {
            let limit = max(1, min(limit, 10_000))
            let dead = try await withShards(options) { shards in
                var rows: [(Int, DeadJob)] = []
                for (index, node) in shards.nodes.enumerated() { rows += try await JobStore().dead(limit: limit, in: node).map { (index, $0) } }
                return rows
            }
            for (shard, job) in dead {
                let when = Date(timeIntervalSince1970: Double(job.finishedAt) / 1_000_000)
                print("\(shard):\(job.id)\t\(job.queue)\t\(job.name)\tattempts \(job.attempt)\t\(when.ISO8601Format())\t\(job.lastError ?? "")")
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a dead (or waiting) job again now, with its attempts renewed.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "SHARD:ID, as `fleet jobs dead` prints it.") var id: String

        func run() async throws {
            try await withJob(id, options) { id, node in try await JobStore().retry(id, now: WallClock.microseconds(), in: node) }
            print("job \(id) is ready")
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a dead (or waiting) job.")
        @OptionGroup var options: ConfigOptions
        @Argument(help: "SHARD:ID, as `fleet jobs dead` prints it.") var id: String

        func run() async throws {
            try await withJob(id, options) { id, node in try await JobStore().discard(id, in: node) }
            print("job \(id) is discarded")
        }
    }
}

func withShards<T: Sendable>(_ options: ConfigOptions, _ body: (Shards) async throws -> T) async throws -> T {
    let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
    _ = Observability.bootstrap(logLevel: .warning)
    return try await Databases.with(settings, logger: Logger(label: "fleet.jobs"), body)
}

/// Runs `body` on the job `text` names (`SHARD:ID`, or `ID` with one shard).
private func withJob(_ text: String, _ options: ConfigOptions, _ body: @Sendable (Int64, InstrumentedDatabase) async throws -> Void) async throws {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), let id = Int64(parts[parts.count - 1]), let shard = parts.count == 2 ? Int(parts[0]) : 0 else {
        throw ValidationError("a job id is SHARD:ID, e.g. 0:42")
    }
    try await withShards(options) { shards in
        guard shards.nodes.indices.contains(shard) else { throw ValidationError("there is no shard \(shard)") }
        if parts.count == 1, shards.nodes.count > 1 { throw ValidationError("there are several shards: name the job as SHARD:ID") }
        do {
            try await body(id, shards.nodes[shard])
        } catch let error as JobError {
            throw ValidationError(error.description)
        }
    }
}
