import FleetData

/// A favorite given or taken back, as the recommender's model hears of it: the payload of
/// `recommend.favorite`, committed with the change on the user's shard.
struct FavoriteEvent: Codable, Sendable, Hashable {
    var user: Int64
    var article: Int64
    /// What the change was. The handler goes by what the user's shard says when it runs,
    /// which may have moved on since (see `RecommendationModel.apply`).
    var favorited: Bool
}

/// The recommender's model of co-favorites ("users who favorited what you favorited also
/// favorited…"), kept in the database on physical shard 0, the recommender's own store, so
/// that recommender instances hold no state and scale out freely. Two tables:
///
/// - `rec_favorites`: every user's favorites, mirrored from the users' shards;
/// - `rec_pairs(article_id, other_id, count)`: for each pair of articles, how many users
///   have both among their newest `window` favorites. Both directions are stored, so a
///   recommendation is one join from the reader's favorites.
///
/// The counts are exact for that definition, not estimates that drift: adding or removing
/// one favorite moves at most one article into a user's window and one out, and the pairs
/// change by exactly that (the one that came in, with the rest of the window, +1; the one
/// that went out, -1). The cost of a change is bounded by the window, whatever the
/// number of a user's favorites.
struct RecommendationModel: Sendable {
    let shards: Shards

    /// A user's favorites that pair with each other: the newest 50, as many as a
    /// recommendation starts from (`history`). Each pair a change counts is a row on a
    /// page of its own, so a favorite of a user with a full window writes about
    /// 4 × `window` rows in random places: with 200, 3-8 ms of SQLite's one writer on a
    /// model of 1.5 million pairs. Schema 9 counted the pairs again for this window
    /// (`rebuildPairs`); changing it needs another such migration.
    static let window = 50
    /// A reader's favorites a recommendation starts from: the newest 50.
    static let history = 50
    /// Rounds of `apply` before leaving a favorite that keeps changing to its job's retry.
    static let attempts = 5

    /// Where the model lives.
    var store: InstrumentedDatabase { shards.nodes[0] }

    // MARK: - Keeping it

    /// Makes the model agree with the user's shard about one favorite: the handler of
    /// `recommend.favorite`.
    ///
    /// Not a replay of the change: the owner's state is read, applied in one transaction
    /// that changes the counts only if it changed the mirror row (so running it twice, late
    /// or out of order changes nothing), then read again; if it moved meanwhile, an older
    /// state may have been applied after a newer one, so it goes round again (as
    /// `EdgeRelay.reconcile` does). Whoever commits last has seen the final state.
    func apply(_ event: FavoriteEvent) async throws {
        let user = FleetID(rawValue: event.user)
        let article = FleetID(rawValue: event.article)
        let owner = shards.node(for: user)
        let favoritedAt: @Sendable (any SQLExecutor) async throws -> Int64? = { db in
            try await db.first("SELECT created_at FROM favorites WHERE user_id = \(bind: user) AND article_id = \(bind: article)")?
                .decode(at: 0, as: Int64.self)
        }
        for _ in 0..<Self.attempts {
            let truth = try await owner.readLatest(favoritedAt)
            try await store.transaction { db in try await Self.mirror(user: user, article: article, favoritedAt: truth, window: Self.window, in: db) }
            if try await owner.readLatest(favoritedAt) == truth { return }
        }
        throw RecommendationModelError(event: event)
    }

    /// Inside a transaction on the store: the mirror row made to say `favoritedAt` (nil:
    /// not favorited; a favorite taken back and given again has a new time) and, if that
    /// changed it, the user's pairs moved with the window (of `window` favorites:
    /// `Self.window` but in tests).
    static func mirror(user: FleetID, article: FleetID, favoritedAt: Int64?, window: Int, in db: any SQLExecutor) async throws {
        try await lock(user, in: db)
        let before = try await newest(window, of: user, in: db)
        let changed = if let favoritedAt {
            try await db.query(
                """
                INSERT INTO rec_favorites (user_id, article_id, created_at) VALUES (\(bind: user), \(bind: article), \(bind: favoritedAt))
                ON CONFLICT (user_id, article_id) DO UPDATE SET created_at = excluded.created_at
                WHERE rec_favorites.created_at <> excluded.created_at
                RETURNING article_id
                """
            )
        } else {
            try await db.query("DELETE FROM rec_favorites WHERE user_id = \(bind: user) AND article_id = \(bind: article) RETURNING article_id")
        }
        guard !changed.isEmpty else { return }
        let after = try await newest(window, of: user, in: db)
        // Pairs(after) - Pairs(before): what entered pairs with what stayed (and with what
        // entered before it), +1; likewise what left, -1. One of each at most, in practice.
        let kept = Set(before).intersection(after)
        for (articles, change) in [(after, 1), (before, -1)] {
            var partners = kept
            for moved in articles where !kept.contains(moved) {
                try await count(moved, with: partners, by: change, in: db)
                partners.insert(moved)
            }
        }
    }

    /// The user's window, newest first.
    private static func newest(_ window: Int, of user: FleetID, in db: any SQLExecutor) async throws -> [Int64] {
        try await db.query(
            """
            SELECT article_id FROM rec_favorites WHERE user_id = \(bind: user)
            ORDER BY created_at DESC, article_id DESC LIMIT \(bind: window)
            """
        ).map { try $0.decode(at: 0, as: Int64.self) }
    }

    /// Adds `change` to the pairs of `article` with each of `others`, both directions, in
    /// one statement; pairs that reach zero are deleted. Rows are written in key order, so
    /// that two jobs touching the same pairs lock them in the same order.
    private static func count(_ article: Int64, with others: Set<Int64>, by change: Int, in db: any SQLExecutor) async throws {
        guard !others.isEmpty else { return }
        let pairs = others.flatMap { [(article, $0), ($0, article)] }.sorted { $0 < $1 }
        let rows = pairs.map { "(\(bind: $0.0), \(bind: $0.1), \(bind: change))" as SQLQuery }.joined(separator: ", ")
        try await db.execute(
            """
            INSERT INTO rec_pairs (article_id, other_id, count) VALUES \(rows)
            ON CONFLICT (article_id, other_id) DO UPDATE SET count = rec_pairs.count + excluded.count
            """
        )
        guard change < 0 else { return }
        let list = Array(others)
        try await db.execute(
            """
            DELETE FROM rec_pairs WHERE count <= 0
                AND ((article_id = \(bind: article) AND other_id IN (\(binds: list))) OR (other_id = \(bind: article) AND article_id IN (\(binds: list))))
            """
        )
    }

    /// Serializes the jobs of one user on PostgreSQL (a transaction-scoped advisory lock
    /// in a key space of the model's own): two of them running at once would each miss
    /// the other's favorite and never count that pair. SQLite has one writer already.
    private static func lock(_ user: FleetID, in db: any SQLExecutor) async throws {
        guard db.dialect == .postgres else { return }
        let key = Int(Int32(truncatingIfNeeded: user.rawValue ^ (user.rawValue >> 32)))
        try await db.execute("SELECT pg_advisory_xact_lock(CAST(\(bind: lockSpace) AS INTEGER), CAST(\(bind: key) AS INTEGER))")
    }

    /// The first key of the model's advisory locks ("rec1").
    private static let lockSpace = 0x7265_6331

    /// Counts every pair from `rec_favorites`, for a model whose `rec_pairs` is empty:
    /// what `mirror` would have counted, change by change, with this window. One
    /// statement, for a migration that changes the window.
    static func rebuildPairs(window: Int) -> SQLQuery {
        """
        INSERT INTO rec_pairs (article_id, other_id, count)
        WITH newest AS (
            SELECT user_id, article_id FROM (
                SELECT user_id, article_id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at DESC, article_id DESC) AS position
                FROM rec_favorites
            ) ranked WHERE position <= \(bind: window)
        )
        SELECT mine.article_id, theirs.article_id, COUNT(*) FROM newest mine
        JOIN newest theirs ON theirs.user_id = mine.user_id AND theirs.article_id <> mine.article_id
        GROUP BY mine.article_id, theirs.article_id
        """
    }

    // MARK: - Reading it

    /// Articles the user may like, best first: from the user's newest `history`
    /// favorites, the articles paired with them, by summed count, leaving out what the
    /// user already favorited. One statement, on the store.
    func recommend(for user: FleetID, limit: Int) async throws -> [Int64] {
        try await store.read { db in
            try await db.query(
                """
                SELECT p.other_id FROM (
                    SELECT article_id FROM rec_favorites WHERE user_id = \(bind: user)
                    ORDER BY created_at DESC, article_id DESC LIMIT \(bind: Self.history)
                ) mine
                JOIN rec_pairs p ON p.article_id = mine.article_id
                WHERE NOT EXISTS (SELECT 1 FROM rec_favorites f WHERE f.user_id = \(bind: user) AND f.article_id = p.other_id)
                GROUP BY p.other_id
                ORDER BY SUM(p.count) DESC, p.other_id DESC
                LIMIT \(bind: limit)
                """
            ).map { try $0.decode(at: 0, as: Int64.self) }
        }
    }
}

/// A favorite that kept changing while the model followed it: its job retries it.
struct RecommendationModelError: Error, CustomStringConvertible {
    let event: FavoriteEvent
    var description: String { "favorite \(event) kept changing while the recommender's model followed it; its job retries it" }
}
