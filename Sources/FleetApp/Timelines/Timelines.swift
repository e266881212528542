import FleetData
import FleetJobs
import FleetSupport

/// The feed as fan-out on write: each user's timeline is a table on the user's own shard
/// (`timelines`), so a feed page reads one shard, whatever the number of followed authors.
///
/// - A new article of an author with at most `fanoutMaxFollowers` followers is written
///   into each follower's timeline by a `timeline.article` job, in batches per shard (run
///   inline after the commit for small fan-outs). A delete removes it the same way.
/// - A bigger author's articles are "direct": listed in `direct_articles`, a small table
///   kept on every physical shard, and merged in at read time.
/// - A follow backfills the author's newest articles (up to `backfill`); an unfollow
///   removes them.
/// - The feed's count is exact without counting rows: each follow row keeps the followed
///   author's number of fanned-out articles (`follows.author_articles`, written with the
///   author's `articles_version`, so a late or repeated write never goes back), and the
///   direct articles of followed authors are counted where they are listed.
/// - Timelines keep at most `timelineMax` rows per user (`timeline.trim` jobs).
///
/// Every step reads the truth (the article, the author's counters, the follow) and makes
/// the timelines agree with it, so running one twice, late or out of order changes
/// nothing; after writing, it reads the truth again and goes round if it moved.
struct Timelines: Sendable {
    let services: ConduitServices

    var shards: Shards { services.shards }
    var policy: FeedPolicy { services.feed }

    /// Followers read per batch of a fan-out.
    static let batch = 500
    /// The most articles a follow copies into the follower's timeline (the newest).
    static let backfill = 100

    // MARK: - Reads

    /// A page of the viewer's feed and its exact count: one read on the viewer's shard.
    func page(for viewer: FleetID, limit: Int, offset: Int) async throws -> CachedPage {
        let depth = offset + limit
        return try await shards.node(for: viewer).read { db in
            let direct: SQLQuery =
                "SELECT d.article_id, d.author_id FROM direct_articles d JOIN follows f ON f.followee_id = d.author_id WHERE f.follower_id = \(bind: viewer)"
            let count = try await db.first(
                """
                SELECT CAST((SELECT COALESCE(SUM(author_articles), 0) FROM follows WHERE follower_id = \(bind: viewer))
                    + (SELECT COUNT(*) FROM (\(direct)) AS d) AS BIGINT)
                """
            )?.decode(at: 0, as: Int.self) ?? 0
            let ids: [Int64] = try await db.query(
                """
                SELECT article_id FROM (
                    SELECT article_id FROM (SELECT article_id FROM timelines WHERE user_id = \(bind: viewer) ORDER BY article_id DESC LIMIT \(bind: depth)) AS t
                    UNION ALL
                    SELECT article_id FROM (\(direct) ORDER BY d.article_id DESC LIMIT \(bind: depth)) AS d
                ) AS feed ORDER BY article_id DESC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """
            ).map { try $0.decode(at: 0) }
            return CachedPage(ids: ids, count: count)
        }
    }

    // MARK: - Articles

    /// What an article's timeline job carries.
    struct ArticleEvent: Codable, Sendable {
        var article: Int64
        var author: Int64
        /// Whether it is fanned out (else direct): fixed when it is created.
        var fannedOut: Bool
    }

    /// The author's figures a fan-out writes into each follow row.
    private struct AuthorCount: Sendable {
        var articles: Int64
        var version: Int64
    }

    /// Enqueues the timeline work of an article created or deleted, in the transaction on
    /// its author's shard (`now` in milliseconds): carried out inline after the commit when
    /// the author has few followers, else by the workers.
    func enqueue(_ event: ArticleEvent, followers: Int, now: Int64, in db: any SQLExecutor) async throws -> AfterCommit? {
        let inline: (@Sendable () async throws -> Void)?
        if followers <= policy.inlineFollowers {
            inline = { try await sync(event) }
        } else {
            inline = nil
        }
        return try await AfterCommit.enqueue(ConduitJobs.article, event, owner: FleetID(rawValue: event.author), now: now, in: db, inline: inline)
    }

    /// Makes every timeline agree with whether `event`'s article exists now.
    func sync(_ event: ArticleEvent) async throws {
        let author = FleetID(rawValue: event.author)
        let home = shards.node(for: author)
        for _ in 0..<EdgeRelay.attempts {
            let (exists, count) = try await home.readLatest { db in
                let exists = try await db.first("SELECT 1 FROM articles WHERE id = \(bind: event.article)") != nil
                let row = try await db.first("SELECT fanned_articles, articles_version FROM users WHERE id = \(bind: author)")
                return (exists, AuthorCount(articles: try row?.decode(at: 0) ?? 0, version: try row?.decode(at: 1) ?? 0))
            }
            if event.fannedOut {
                try await fanOut(event, exists: exists, count: count)
            } else {
                try await shards.scatter(Array(shards.nodes.indices)) { _, node in
                    try await node.transaction { db in
                        try await db.execute(
                            exists
                                ? "INSERT INTO direct_articles (article_id, author_id) VALUES (\(bind: event.article), \(bind: author)) ON CONFLICT DO NOTHING"
                                : "DELETE FROM direct_articles WHERE article_id = \(bind: event.article)"
                        )
                    }
                }
            }
            // Deleted meanwhile: go round to take it out again.
            let still = try await home.readLatest { db in try await db.first("SELECT 1 FROM articles WHERE id = \(bind: event.article)") != nil }
            if still == exists { return }
        }
    }

    /// Writes (or removes) the article in every follower's timeline, batch by batch, with
    /// the author's count in each follow row.
    private func fanOut(_ event: ArticleEvent, exists: Bool, count: AuthorCount) async throws {
        let author = FleetID(rawValue: event.author)
        var cursor = Int64.min
        while true {
            let after = cursor
            let followers: [Int64] = try await shards.node(for: author).readLatest { db in
                try await db.query(
                    """
                    SELECT source_id FROM edge_mirror WHERE kind = 'follow' AND target_id = \(bind: author) AND source_id > \(bind: after)
                    ORDER BY source_id LIMIT \(bind: Self.batch)
                    """
                ).map { try $0.decode(at: 0) }
            }
            guard let last = followers.last else { return }
            cursor = last
            for group in shards.partition(followers, by: FleetID.init(rawValue:)) {
                try await shards.nodes[group.physical].transaction { db in
                    let changed = exists
                        ? try await db.query(
                            """
                            INSERT INTO timelines (user_id, article_id, author_id)
                            SELECT follower_id, \(bind: event.article), \(bind: author) FROM follows
                            WHERE followee_id = \(bind: author) AND follower_id IN (\(binds: group.items))
                            ON CONFLICT DO NOTHING RETURNING user_id
                            """
                        )
                        : try await db.query(
                            "DELETE FROM timelines WHERE article_id = \(bind: event.article) AND user_id IN (\(binds: group.items)) RETURNING user_id"
                        )
                    try await Self.resize(changed.map { try $0.decode(at: 0, as: Int64.self) }, by: exists ? 1 : -1, in: db)
                    try await Self.record(count, of: author, for: group.items, in: db)
                    if exists, !changed.isEmpty { try await Self.scheduleTrim(physical: group.physical, in: db) }
                }
            }
            if followers.count < Self.batch { return }
        }
    }

    /// Keeps each timeline's size in its owner's row (what trimming reads).
    private static func resize(_ users: [Int64], by change: Int, in db: any SQLExecutor) async throws {
        guard !users.isEmpty else { return }
        try await db.execute("UPDATE users SET timeline_size = timeline_size + \(bind: change) WHERE id IN (\(binds: users))")
    }

    /// Writes the author's count into the follow rows of `followers`, unless they already
    /// hold a newer one.
    private static func record(_ count: AuthorCount, of author: FleetID, for followers: [Int64], in db: any SQLExecutor) async throws {
        try await db.execute(
            """
            UPDATE follows SET author_articles = \(bind: count.articles), author_version = \(bind: count.version)
            WHERE followee_id = \(bind: author) AND follower_id IN (\(binds: followers)) AND author_version < \(bind: count.version)
            """
        )
    }

    // MARK: - Follows

    /// After a follow's mirror changed (or to repair it): a present follow gets the
    /// author's newest fanned-out articles and count; an absent one loses them.
    func follow(_ edge: Edge, present: Bool) async throws {
        let follower = FleetID(rawValue: edge.source), author = FleetID(rawValue: edge.target)
        let home = shards.node(for: follower)
        guard present else {
            try await home.transaction { db in
                let removed = try await db.query(
                    "DELETE FROM timelines WHERE user_id = \(bind: follower) AND author_id = \(bind: author) RETURNING user_id"
                ).count
                try await db.execute("UPDATE users SET timeline_size = timeline_size - \(bind: removed) WHERE id = \(bind: follower)")
            }
            return
        }
        let limit = min(policy.timelineMax, Self.backfill)
        let (articles, count) = try await shards.node(for: author).readLatest { db in
            let articles: [Int64] = try await db.query(
                "SELECT id FROM articles WHERE author_id = \(bind: author) AND fanned_out = 1 ORDER BY id DESC LIMIT \(bind: limit)"
            ).map { try $0.decode(at: 0) }
            let row = try await db.first("SELECT fanned_articles, articles_version FROM users WHERE id = \(bind: author)")
            return (articles, AuthorCount(articles: try row?.decode(at: 0) ?? 0, version: try row?.decode(at: 1) ?? 0))
        }
        let physical = shards.physical(for: follower.shard)
        try await home.transaction { db in
            // Only while the follow stands (an unfollow that won the race removed it).
            guard try await db.first("SELECT 1 FROM follows WHERE follower_id = \(bind: follower) AND followee_id = \(bind: author)") != nil else { return }
            if !articles.isEmpty {
                let rows = articles.map { "(\(bind: follower), \(bind: $0), \(bind: author))" as SQLQuery }.joined(separator: ", ")
                let added = try await db.query("INSERT INTO timelines (user_id, article_id, author_id) VALUES \(rows) ON CONFLICT DO NOTHING RETURNING user_id").count
                try await db.execute("UPDATE users SET timeline_size = timeline_size + \(bind: added) WHERE id = \(bind: follower)")
                if added > 0 { try await Self.scheduleTrim(physical: physical, in: db) }
            }
            try await Self.record(count, of: author, for: [follower.rawValue], in: db)
        }
        // An article deleted between the two reads: its removal may have run before the
        // rows above existed; take out what no longer exists.
        guard !articles.isEmpty else { return }
        let left = Set(try await shards.node(for: author).readLatest { db in
            try await db.query("SELECT id FROM articles WHERE id IN (\(binds: articles))").map { try $0.decode(at: 0, as: Int64.self) }
        })
        let gone = articles.filter { !left.contains($0) }
        guard !gone.isEmpty else { return }
        try await home.transaction { db in
            let removed = try await db.query(
                "DELETE FROM timelines WHERE user_id = \(bind: follower) AND article_id IN (\(binds: gone)) RETURNING user_id"
            ).count
            try await db.execute("UPDATE users SET timeline_size = timeline_size - \(bind: removed) WHERE id = \(bind: follower)")
        }
    }

    // MARK: - Trimming

    /// What a trim job carries: the physical shard whose timelines it trims.
    struct Trim: Codable, Sendable {
        var physical: Int
    }

    /// Asks for a trim of this shard's timelines soon; one pending at a time.
    private static func scheduleTrim(physical: Int, in db: any SQLExecutor) async throws {
        let now = WallClock.microseconds()
        try await JobStore().enqueue(
            try ConduitJobs.trim.make(Trim(physical: physical), runAt: now + 5_000_000, uniqueKey: "timeline.trim.\(physical)"), now: now, in: db
        )
    }

    /// Cuts the timelines of this shard that grew past the bound back to it, a hundred
    /// users at a time; returns how many rows it removed.
    @discardableResult
    func trim(physical: Int) async throws -> Int {
        guard shards.nodes.indices.contains(physical) else { return 0 }
        let node = shards.nodes[physical]
        let bound = policy.timelineMax
        var removed = 0
        while true {
            let users: [Int64] = try await node.readLatest { db in
                try await db.query("SELECT id FROM users WHERE timeline_size > \(bind: bound) LIMIT 100").map { try $0.decode(at: 0) }
            }
            for user in users {
                removed += try await node.transaction { db in
                    let cut = try await db.query(
                        """
                        DELETE FROM timelines WHERE user_id = \(bind: user) AND article_id < (
                            SELECT article_id FROM timelines WHERE user_id = \(bind: user) ORDER BY article_id DESC LIMIT 1 OFFSET \(bind: bound - 1)
                        ) RETURNING user_id
                        """
                    ).count
                    try await db.execute("UPDATE users SET timeline_size = (SELECT COUNT(*) FROM timelines WHERE user_id = \(bind: user)) WHERE id = \(bind: user)")
                    return cut
                }
            }
            if users.count < 100 { return removed }
        }
    }
}
