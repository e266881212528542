import ArgumentParser
import FleetApp
import FleetData
import FleetJobs
import FleetObservability
import FleetSupport
import Foundation
import Logging

extension TimelinesCommand {
    /// Fan-out on the configured (empty) database: an author with N followers posts, the
    /// workers fan the article out, and the lag from the commit to its presence in every
    /// follower's timeline is timed.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure fan-out: timeline rows per second and the lag to the last follower, for an author with N followers."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: "Followers of the author.") var followers = 10_000
        @Option(help: "Articles posted (one at a time; the median is reported).") var articles = 3
        @Option(help: "Jobs of the timelines queue running at once.") var concurrency = 4

        func run() async throws {
            let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
            _ = Observability.bootstrap(logLevel: .warning)
            let logger = Logger(label: "fleet.bench")
            let bar = ProgressBar()
            let (followers, articles, concurrency) = (followers, articles, concurrency)
            let lags = try await Databases.with(settings, logger: logger) { shards in
                let services = try await ConduitServices.make(
                    settings, shards: shards, redis: nil, passwords: MemoizingPasswordHasher(BcryptPasswordHasher(cost: 4)), logger: logger
                )
                let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
                let author = try await services.users.register(username: "author\(tag)", email: "author\(tag)@bench.fleet", password: "password123")
                for index in 1...followers {
                    let fan = try await services.users.register(username: "fan\(tag)x\(index)", email: "fan\(tag)x\(index)@bench.fleet", password: "password123")
                    _ = try await services.profiles.follow("author\(tag)", by: fan.id)
                    if index % 100 == 0 { bar.update("followers", index, followers) }
                }
                var configuration = JobWorkerConfiguration(queues: ["timelines": concurrency])
                configuration.pollInterval = .milliseconds(200)
                let worker = JobWorker(databases: shards.nodes, handlers: ConduitJobs.handlers(services), configuration: configuration, logger: logger)
                services.wakeups.subscribe { [weak worker] queue in worker?.notify(queue: queue) }
                return try await whileRunning(worker, logger: logger) {
                    var lags: [Duration] = []
                    for index in 1...articles {
                        let article = try await services.articles.create(
                            title: "Fan-out \(tag) \(index)", description: "d", body: "b", tagList: [], author: author.id
                        )
                        let committed = ContinuousClock.now
                        while try await Self.rows(of: article.id, in: shards) < followers {
                            try await Task.sleep(for: .milliseconds(5))
                        }
                        lags.append(.now - committed)
                        bar.update("articles", index, articles)
                    }
                    return lags
                }
            }
            let sorted = lags.sorted()
            let median = sorted[sorted.count / 2]
            print(
                String(
                    format: "{\"followers\": %d, \"lag_median_s\": %.3f, \"lag_max_s\": %.3f, \"rows_per_second\": %.0f, \"concurrency\": %d}",
                    followers, median.inSeconds, sorted.last?.inSeconds ?? 0, Double(followers) / median.inSeconds, concurrency
                )
            )
        }

        static func rows(of article: FleetID, in shards: Shards) async throws -> Int {
            var total = 0
            for node in shards.nodes {
                total += try await node.read { db in try await db.first("SELECT COUNT(*) FROM timelines WHERE article_id = \(bind: article)")?.decode(at: 0) ?? 0 }
            }
            return total
        }
    }
}
