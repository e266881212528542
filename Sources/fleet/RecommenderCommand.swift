import ArgumentParser
import FleetApp

struct RecommenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommender",
        abstract: "Run the recommender: GET /recommendations, health and metrics on recommender.host:port, computed from the model on shard 0."
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: "Comma-separated queues whose jobs it also runs, e.g. recommendations (default: none).")
    var queues: String?

    func run() async throws {
        try await runRole(.recommender, options: options, overrides: ["--jobs-workers", queues ?? "none"])
    }
}
