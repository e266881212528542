import FleetData
public import FleetJobs
import FleetMail
import FleetResilience

/// Conduit's asynchronous work: every job type, its queue, and its handler. Every handler
/// is idempotent (jobs run at least once) and tested by running it twice and late.
///
/// | job | queue | what it does |
/// |---|---|---|
/// | `edge.reconcile` | `edges` | mirrors a follow or favorite on the target's shard (`EdgeRelay`) |
/// | `mail.welcome` | `mail` | sends a new user the welcome e-mail (`Mailer`) |
/// | `timeline.article` | `timelines` | fans a new article out to its author's followers' timelines, or takes a deleted one out (`Timelines`) |
/// | `timeline.trim` | `timelines` | cuts a shard's timelines that grew past `feed.timeline.max` |
/// | `timeline.rebuild` | `timelines` | rebuilds one user's timeline from follows and articles |
/// | `cache.invalidate` | `cache` | drops what a change made stale, on every instance (with Redis) |
/// | `recommend.favorite` | `recommendations` | brings the recommender's model in line with a favorite (`RecommendationModel`) |
public enum ConduitJobs {
    /// A follow's or favorite's far side to bring in line with its owner's shard. Enqueued
    /// ready a little later: the request delivers it inline right after commit, and the
    /// job only runs if that did not happen (crash, shard down).
    static let edge = JobType<Edge>("edge.reconcile", queue: "edges", retry: RetryPolicy(maxAttempts: 25, base: .seconds(1), cap: .seconds(300)))

    /// How long an edge job waits for its request to deliver it inline.
    static let inlineGrace: Int64 = 10_000_000

    /// The welcome e-mail of a user, committed with the user (`user.created`). A mail
    /// server that is down delays it with retries; sign-up never waits for it.
    static let welcome = JobType<WelcomeMail>("mail.welcome", queue: "mail", retry: RetryPolicy(maxAttempts: 15, base: .seconds(2), cap: .seconds(1800)))

    /// An article created or deleted: every timeline made to agree.
    static let article = JobType<Timelines.ArticleEvent>("timeline.article", queue: "timelines", retry: RetryPolicy(maxAttempts: 25, base: .seconds(1), cap: .seconds(300)))
    static let trim = JobType<Timelines.Trim>("timeline.trim", queue: "timelines", retry: RetryPolicy(maxAttempts: 10, base: .seconds(5), cap: .seconds(300)))
    static let rebuild = JobType<RebuildTimeline>("timeline.rebuild", queue: "timelines", retry: RetryPolicy(maxAttempts: 25, base: .seconds(1), cap: .seconds(300)))

    /// The cache entries a change made stale: dropped by the request right after the
    /// commit, and by a worker if the request's process died first.
    static let invalidate = JobType<[CacheChange]>("cache.invalidate", queue: "cache", retry: RetryPolicy(maxAttempts: 25, base: .seconds(1), cap: .seconds(60)))

    /// A favorite given or taken back, for the recommender's model on shard 0. Run by
    /// whichever process works the `recommendations` queue (`fleet recommender --queues`).
    static let recommendFavorite = JobType<FavoriteEvent>(
        "recommend.favorite", queue: "recommendations", retry: RetryPolicy(maxAttempts: 25, base: .seconds(1), cap: .seconds(300))
    )

    /// Every queue Conduit uses.
    public static let queues = ["edges", "mail", "timelines", "cache", "recommendations"]

    /// The handlers of every job type, over `services`.
    public static func handlers(_ services: ConduitServices) -> JobHandlers {
        var handlers = JobHandlers()
        handlers.register(edge) { edge, _ in
            try await services.shards.bounded { try await services.edges.reconcile(edge) }
            return .completed
        }
        handlers.register(article) { event, _ in
            try await services.timelines.sync(event)
            return .completed
        }
        handlers.register(trim) { trim, _ in
            try await services.timelines.trim(physical: trim.physical)
            return .completed
        }
        handlers.register(rebuild) { rebuild, _ in
            try await services.timelines.rebuild(FleetID(rawValue: rebuild.user))
            return .completed
        }
        handlers.register(invalidate) { changes, _ in
            // Throws while Redis cannot be told: the job retries until it can.
            try await services.caches.apply(changes)
            return .completed
        }
        handlers.register(recommendFavorite) { event, _ in
            try await RecommendationModel(shards: services.shards).apply(event)
            return .completed
        }
        handlers.register(welcome) { mail, _ in
            let id = FleetID(rawValue: mail.user)
            // Read when sending: the address as it is now. A user deleted meanwhile (a
            // sign-up undone after its commit) gets nothing.
            guard let mailer = services.mailer,
                let user = try await services.shards.node(for: id).readLatest({ db in try await UserService.user(where: "id = \(bind: id)", in: db) })
            else { return .completed }
            do {
                try await mailer.send(mailer.welcome(user))
            } catch is CircuitBreakerError {
                // The server has been failing: wait for the breaker's trial send rather
                // than spend an attempt on it.
                return .snooze(Mailer.breakerOpen)
            }
            return .completed
        }
        return handlers
    }
}

/// The payload of `timeline.rebuild`.
struct RebuildTimeline: Codable, Sendable {
    var user: Int64
}
