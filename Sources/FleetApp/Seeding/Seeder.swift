import FleetData
import FleetSupport

/// Builds a realistic data set through the same services the API uses, so seeded data
/// obeys every rule real data does: Zipf-skewed authors, tags, follows and favorites.
///
/// Users are `user1`...`userN` (`userK@seed.fleet`), all with the password
/// `password123`; the bcrypt hash is computed once and shared (see
/// `MemoizingPasswordHasher`), which is what makes 10,000 sign-ups take seconds.
public struct Seeder: Sendable {
    public struct Plan: Sendable {
        public var users = 10_000
        public var articles = 100_000
        public var followsPerUser = 10
        /// Favorites given and comments written; by default in proportion to articles.
        public var favorites: Int?
        public var comments: Int?
        public var tags = 200
        public var exponent = 1.1
        public var seed: UInt64 = 42
        /// Operations in flight at once; writes still queue on the database's writer.
        public var concurrency = 8
        public init() {}
    }

    /// Reports progress: phase name, items done, items in the phase.
    public typealias Progress = @Sendable (_ phase: String, _ done: Int, _ total: Int) -> Void

    public static let password = "password123"
    let services: ConduitServices
    let plan: Plan

    public init(services: ConduitServices, plan: Plan) {
        self.services = services
        self.plan = plan
    }

    public func run(progress: @escaping Progress) async throws {
        let users = try await phase("users", count: plan.users, progress: progress) { index, _ in
            try await services.users.register(username: "user\(index + 1)", email: "user\(index + 1)@seed.fleet", password: Self.password).id
        }
        let userZipf = Zipf(count: users.count, exponent: plan.exponent)
        let tagZipf = Zipf(count: plan.tags, exponent: plan.exponent)

        let articles = try await phase("articles", count: plan.articles, progress: progress) { index, rng in
            let author = users[userZipf.sample(using: &rng)]
            let tagCount = Int.random(in: 0...3, using: &rng)
            let tags = (0..<tagCount).map { _ in Self.tagNames[tagZipf.sample(using: &rng) % Self.tagNames.count] }
            let title = (0..<Int.random(in: 3...8, using: &rng)).map { _ in Self.words.randomElement(using: &rng)! }.joined(separator: " ")
            let body = (0..<Int.random(in: 20...120, using: &rng)).map { _ in Self.words.randomElement(using: &rng)! }.joined(separator: " ")
            let article = try await services.articles.create(
                title: title.capitalizedFirst, description: "About \(title)", body: body, tagList: tags, author: author
            )
            return article.slug
        }

        let follows = plan.users * plan.followsPerUser
        _ = try await phase("follows", count: follows, progress: progress) { index, rng in
            let follower = users[index % users.count]
            let followee = userZipf.sample(using: &rng)
            guard users[followee] != follower else { return () }
            _ = try await services.profiles.follow("user\(followee + 1)", by: follower)
            return ()
        }

        guard !articles.isEmpty else { return }
        let articleZipf = Zipf(count: articles.count, exponent: plan.exponent)
        _ = try await phase("favorites", count: plan.favorites ?? plan.articles, progress: progress) { _, rng in
            let user = users[Int.random(in: 0..<users.count, using: &rng)]
            _ = try await services.articles.favorite(articles[articleZipf.sample(using: &rng)], by: user)
            return ()
        }
        _ = try await phase("comments", count: plan.comments ?? plan.articles * 3 / 10, progress: progress) { _, rng in
            let user = users[Int.random(in: 0..<users.count, using: &rng)]
            let body = (0..<Int.random(in: 5...40, using: &rng)).map { _ in Self.words.randomElement(using: &rng)! }.joined(separator: " ")
            _ = try await services.comments.add(slug: articles[articleZipf.sample(using: &rng)], body: body, author: user)
            return ()
        }
    }

    /// Runs `count` operations with bounded concurrency, in index order of results.
    private func phase<T: Sendable>(
        _ name: String, count: Int, progress: Progress,
        _ operation: @escaping @Sendable (Int, inout SplitMix64) async throws -> T
    ) async throws -> [T] {
        guard count > 0 else { return [] }
        var results = [T?](repeating: nil, count: count)
        let baseSeed = plan.seed &+ UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) })
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var next = 0
            var done = 0
            func launch() {
                let index = next
                next += 1
                group.addTask {
                    var rng = SplitMix64(seed: baseSeed &+ UInt64(index))
                    return (index, try await operation(index, &rng))
                }
            }
            while next < min(count, plan.concurrency) { launch() }
            while let (index, value) = try await group.next() {
                results[index] = value
                done += 1
                if done % 100 == 0 || done == count { progress(name, done, count) }
                if next < count { launch() }
            }
        }
        return results.map { $0! }
    }

    static let tagNames: [String] = [
        "swift", "programming", "webdev", "javascript", "design", "startup", "career", "devops", "database", "postgres",
        "sqlite", "redis", "kubernetes", "linux", "security", "testing", "performance", "scaling", "architecture", "ux",
        "music", "travel", "food", "books", "science", "health", "finance", "sports", "gaming", "photography",
    ] + (1...200).map { "topic\($0)" }

    static let words: [String] = [
        "the", "a", "dragon", "train", "swift", "server", "scale", "million", "users", "fleet", "cache", "shard", "replica",
        "query", "latency", "throughput", "graceful", "degradation", "circuit", "breaker", "queue", "worker", "event", "feed",
        "follow", "favorite", "article", "comment", "tag", "profile", "journey", "lesson", "story", "guide", "how", "why",
        "build", "ship", "measure", "learn", "fast", "simple", "robust", "honest", "viral", "growth", "night", "morning",
    ]
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
