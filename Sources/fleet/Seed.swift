import ArgumentParser
import FleetApp
import FleetObservability
import Logging

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fill the database with a realistic, Zipf-skewed data set.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "Users to create (user1..userN, password 'password123').") var users = 10_000
    @Option(help: "Articles to create.") var articles = 100_000
    @Option(help: "Follows per user, on average.") var followsPerUser = 10
    @Option(help: "Favorites to give (default: one per article).") var favorites: Int?
    @Option(help: "Comments to write (default: 3 per 10 articles).") var comments: Int?
    @Option(help: "Random seed: the same seed builds the same data set.") var seed: UInt64 = 42

    func run() async throws {
        let settings = try FleetSettings(config: try await FleetSettings.reader(arguments: options.settings, configFile: options.file))
        _ = Observability.bootstrap(logLevel: .warning)
        let logger = Logger(label: "fleet.seed")
        var plan = Seeder.Plan()
        plan.users = users
        plan.articles = articles
        plan.followsPerUser = followsPerUser
        plan.favorites = favorites
        plan.comments = comments
        plan.seed = seed
        let bar = ProgressBar()
        let elapsed = try await Databases.with(settings, logger: logger) { database in
            let services = try await ConduitServices.make(
                settings, shards: database, redis: nil, passwords: MemoizingPasswordHasher(BcryptPasswordHasher(cost: settings.bcryptCost)), logger: logger
            )
            return try await ContinuousClock().measure {
                try await Seeder(services: services, plan: plan).run { phase, done, total in bar.update(phase, done, total) }
            }
        }
        print("seeded \(users) users, \(articles) articles in \(elapsed)")
    }
}
