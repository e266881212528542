public import FleetData
import FleetJobs

/// Conduit's schema, one portable text for SQLite and PostgreSQL.
///
/// There are no foreign keys: rows of one user live on that user's shard, and edges
/// between users (follows, favorites) may span shards, where no database can enforce
/// them. Deletes clean up explicitly in the same transaction instead.
public enum Schema {
    public static let migrator = Migrator([
        Migration(version: 1, name: "conduit") { dialect in
            let bigint = dialect.bigint
            return [
                """
                CREATE TABLE users (
                    id \(unsafeSQL: bigint) PRIMARY KEY,
                    username TEXT NOT NULL,
                    username_key TEXT NOT NULL,
                    email TEXT NOT NULL,
                    password_hash TEXT NOT NULL,
                    bio TEXT,
                    image TEXT,
                    articles_count \(unsafeSQL: bigint) NOT NULL DEFAULT 0,
                    created_at \(unsafeSQL: bigint) NOT NULL,
                    updated_at \(unsafeSQL: bigint) NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX users_username_key ON users (username_key)",
                "CREATE UNIQUE INDEX users_email ON users (email)",
                """
                CREATE TABLE follows (
                    follower_id \(unsafeSQL: bigint) NOT NULL,
                    followee_id \(unsafeSQL: bigint) NOT NULL,
                    created_at \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (follower_id, followee_id)
                )
                """,
                "CREATE INDEX follows_followee ON follows (followee_id, follower_id)",
                """
                CREATE TABLE articles (
                    id \(unsafeSQL: bigint) PRIMARY KEY,
                    author_id \(unsafeSQL: bigint) NOT NULL,
                    slug TEXT NOT NULL,
                    title TEXT NOT NULL,
                    description TEXT NOT NULL,
                    body TEXT NOT NULL,
                    tag_list TEXT NOT NULL,
                    favorites_count \(unsafeSQL: bigint) NOT NULL DEFAULT 0,
                    created_at \(unsafeSQL: bigint) NOT NULL,
                    updated_at \(unsafeSQL: bigint) NOT NULL
                )
                """,
                "CREATE INDEX articles_author ON articles (author_id, id)",
                """
                CREATE TABLE article_tags (
                    tag TEXT NOT NULL,
                    article_id \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (tag, article_id)
                )
                """,
                "CREATE INDEX article_tags_article ON article_tags (article_id)",
                """
                CREATE TABLE tags (
                    name TEXT PRIMARY KEY,
                    articles_count \(unsafeSQL: bigint) NOT NULL
                )
                """,
                """
                CREATE TABLE favorites (
                    user_id \(unsafeSQL: bigint) NOT NULL,
                    article_id \(unsafeSQL: bigint) NOT NULL,
                    created_at \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (user_id, article_id)
                )
                """,
                "CREATE INDEX favorites_article ON favorites (article_id, user_id)",
                """
                CREATE TABLE comments (
                    id \(unsafeSQL: bigint) PRIMARY KEY,
                    article_id \(unsafeSQL: bigint) NOT NULL,
                    author_id \(unsafeSQL: bigint) NOT NULL,
                    body TEXT NOT NULL,
                    created_at \(unsafeSQL: bigint) NOT NULL,
                    updated_at \(unsafeSQL: bigint) NOT NULL
                )
                """,
                "CREATE INDEX comments_article ON comments (article_id, id)",
                // A counter is spread over slots so that concurrent writers update
                // different rows instead of queueing on one; readers sum the slots.
                """
                CREATE TABLE counters (
                    name TEXT NOT NULL,
                    slot INTEGER NOT NULL,
                    value \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (name, slot)
                )
                """,
            ]
        },
        Migration(version: 2, name: "shards") { dialect in
            let bigint = dialect.bigint
            return [
                // Who owns each username and e-mail address, across shards. An entry lives
                // on the logical shard its name hashes to; it is valid only while the user
                // it names still has that name (see `UserDirectory`).
                """
                CREATE TABLE directory (
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    user_id \(unsafeSQL: bigint) NOT NULL,
                    created_at \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (kind, name)
                )
                """,
                "INSERT INTO directory (kind, name, user_id, created_at) SELECT 'username', username_key, id, created_at FROM users",
                "INSERT INTO directory (kind, name, user_id, created_at) SELECT 'email', email, id, created_at FROM users",
                // Follow-up work committed with the change that causes it (a transactional
                // outbox): here, edges to mirror on another shard.
                """
                CREATE TABLE outbox (
                    id \(unsafeSQL: bigint) PRIMARY KEY,
                    topic TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    created_at \(unsafeSQL: bigint) NOT NULL
                )
                """,
                "CREATE INDEX outbox_created ON outbox (created_at)",
                // The far side of follows and favorites, on the shard of who is followed or
                // what is favorited; a row exists while the edge does.
                """
                CREATE TABLE edge_mirror (
                    kind TEXT NOT NULL,
                    target_id \(unsafeSQL: bigint) NOT NULL,
                    source_id \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (kind, target_id, source_id)
                )
                """,
                "INSERT INTO edge_mirror (kind, target_id, source_id) SELECT 'favorite', article_id, user_id FROM favorites",
                "INSERT INTO edge_mirror (kind, target_id, source_id) SELECT 'follow', followee_id, follower_id FROM follows",
                // Edges are looked up by their owner only now; the far side has the mirror.
                "DROP INDEX favorites_article",
                "DROP INDEX follows_followee",
                // The article counter is kept per logical shard of the author, so that it
                // moves with the shard's rows.
                "DELETE FROM counters WHERE name = 'articles'",
                """
                INSERT INTO counters (name, slot, value)
                SELECT 'articles', (author_id >> \(unsafeSQL: String(FleetID.sequenceBits))) & \(unsafeSQL: String(FleetID.logicalShardCount - 1)), COUNT(*)
                FROM articles GROUP BY (author_id >> \(unsafeSQL: String(FleetID.sequenceBits))) & \(unsafeSQL: String(FleetID.logicalShardCount - 1))
                """,
            ]
        },
        Migration(version: 3, name: "hardening") { dialect in
            let bigint = dialect.bigint
            return [
                // Comments are numbered within their article (what clients see as their
                // id: JavaScript reads JSON numbers as doubles, exact only to 2^53 − 1);
                // the article keeps the last number given. Existing comments are
                // numbered in the order they were written, in one pass. Instances of an
                // earlier version write no numbers: stop them before this one starts.
                "ALTER TABLE comments ADD COLUMN number \(unsafeSQL: bigint) NOT NULL DEFAULT 0",
                """
                UPDATE comments SET number = numbered.n
                FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY article_id ORDER BY id) AS n FROM comments) AS numbered
                WHERE comments.id = numbered.id
                """,
                "CREATE UNIQUE INDEX comments_article_number ON comments (article_id, number)",
                "DROP INDEX comments_article",
                "ALTER TABLE articles ADD COLUMN comments_seq \(unsafeSQL: bigint) NOT NULL DEFAULT 0",
                "UPDATE articles SET comments_seq = (SELECT COALESCE(MAX(number), 0) FROM comments WHERE comments.article_id = articles.id)",
                // Raised by each change of password or e-mail: older tokens are refused,
                // but for the one that made the change (its id is kept).
                "ALTER TABLE users ADD COLUMN token_version \(unsafeSQL: bigint) NOT NULL DEFAULT 0",
                "ALTER TABLE users ADD COLUMN token_keeper TEXT",
                // The feed and `favorited=` join the mirror by whose edge it is.
                "CREATE INDEX edge_mirror_source ON edge_mirror (kind, source_id, target_id)",
            ]
        },
        Migration(version: 4, name: "jobs") { dialect in
            // Durable jobs, in the database of the change that produced them (FleetJobs).
            // The edge outbox becomes `edge.reconcile` jobs, ready at once (times in
            // microseconds); its sweep is gone. Instances of an earlier version still
            // write to the outbox: stop them before this one starts.
            JobSchema.statements(dialect) + [
                """
                INSERT INTO jobs (queue, name, payload, state, priority, run_at, max_attempts, created_at)
                SELECT \(bind: ConduitJobs.edge.queue), \(bind: ConduitJobs.edge.name), payload, 'available', 0, created_at * 1000,
                    \(bind: ConduitJobs.edge.retry.maxAttempts), created_at * 1000
                FROM outbox
                """,
                "DROP TABLE outbox",
            ]
        },
        Migration(version: 5, name: "timelines") { dialect in
            let bigint = dialect.bigint
            return [
                // Each user's feed, on the user's shard (see `Timelines`).
                """
                CREATE TABLE timelines (
                    user_id \(unsafeSQL: bigint) NOT NULL,
                    article_id \(unsafeSQL: bigint) NOT NULL,
                    author_id \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (user_id, article_id)
                )
                """,
                "CREATE INDEX timelines_author ON timelines (user_id, author_id)",
                // The articles of authors too big to fan out, on every physical shard.
                """
                CREATE TABLE direct_articles (
                    article_id \(unsafeSQL: bigint) PRIMARY KEY,
                    author_id \(unsafeSQL: bigint) NOT NULL
                )
                """,
                "CREATE INDEX direct_articles_author ON direct_articles (author_id, article_id)",
                "ALTER TABLE articles ADD COLUMN fanned_out INTEGER NOT NULL DEFAULT 1",
                "ALTER TABLE users ADD COLUMN followers_count \(unsafeSQL: bigint) NOT NULL DEFAULT 0",
                "ALTER TABLE users ADD COLUMN fanned_articles \(unsafeSQL: bigint) NOT NULL DEFAULT 0",
                "ALTER TABLE users ADD COLUMN articles_version \(unsafeSQL: bigint) NOT NULL DEFAULT 0",
                "ALTER TABLE users ADD COLUMN timeline_size \(unsafeSQL: bigint) NOT NULL DEFAULT 0",
                "CREATE INDEX users_timeline_size ON users (timeline_size)",
                "ALTER TABLE follows ADD COLUMN author_articles \(unsafeSQL: bigint) NOT NULL DEFAULT 0",
                "ALTER TABLE follows ADD COLUMN author_version \(unsafeSQL: bigint) NOT NULL DEFAULT -1",
                "UPDATE users SET fanned_articles = articles_count",
                "UPDATE users SET followers_count = (SELECT COUNT(*) FROM edge_mirror WHERE kind = 'follow' AND target_id = users.id)",
                // Existing feeds are built by the workers: one rebuild job per user, whose
                // follows may reach other shards (a migration sees only its own).
                """
                INSERT INTO jobs (queue, name, payload, state, priority, run_at, max_attempts, created_at)
                SELECT \(bind: ConduitJobs.rebuild.queue), \(bind: ConduitJobs.rebuild.name), '{"user":' || CAST(id AS TEXT) || '}', 'available', 10, 0,
                    \(bind: ConduitJobs.rebuild.retry.maxAttempts), 0
                FROM users WHERE id IN (SELECT follower_id FROM follows)
                """,
            ]
        },
        Migration(version: 6, name: "recommendations") { dialect in
            let bigint = dialect.bigint
            return [
                // The recommender's model (see `RecommendationModel`): created on every shard
                // by the one migrator, used on physical shard 0 only, the recommender's own
                // store. Kept by `recommend.favorite` jobs.
                """
                CREATE TABLE rec_favorites (
                    user_id \(unsafeSQL: bigint) NOT NULL,
                    article_id \(unsafeSQL: bigint) NOT NULL,
                    created_at \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (user_id, article_id)
                )
                """,
                "CREATE INDEX rec_favorites_newest ON rec_favorites (user_id, created_at, article_id)",
                """
                CREATE TABLE rec_pairs (
                    article_id \(unsafeSQL: bigint) NOT NULL,
                    other_id \(unsafeSQL: bigint) NOT NULL,
                    count \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (article_id, other_id)
                )
                """,
                // Popular articles: favorites of the last days, on every shard.
                "CREATE INDEX favorites_created ON favorites (created_at)",
                // Favorites given before this version enter the model through the workers,
                // one job each, on the shard that owns the favorite.
                """
                INSERT INTO jobs (queue, name, payload, state, priority, run_at, max_attempts, created_at)
                SELECT \(bind: ConduitJobs.recommendFavorite.queue), \(bind: ConduitJobs.recommendFavorite.name),
                    '{"user":' || CAST(user_id AS TEXT) || ',"article":' || CAST(article_id AS TEXT) || ',"favorited":true}', 'available', 10, 0,
                    \(bind: ConduitJobs.recommendFavorite.retry.maxAttempts), 0
                FROM favorites
                """,
            ]
        },
        Migration(version: 7, name: "job trace context") { _ in
            // Jobs carry the trace of the request that enqueued them (FleetJobs).
            JobSchema.traceContext
        },
        Migration(version: 8, name: "counter sums") { dialect in
            // The whole site's article count sums one row per logical shard (1,024): on
            // SQLite an index that holds the values answers it without visiting the table.
            // Not on PostgreSQL: an indexed `value` would make every count update a non-HOT
            // update (new entries in every index), and rows updated that often are not
            // all-visible, so an index-only scan would visit the table anyway.
            dialect == .sqlite ? ["CREATE INDEX counters_values ON counters (name, slot, value)"] : []
        },
        Migration(version: 9, name: "recommendation window") { _ in
            // The model's window goes from 200 favorites to 50 (`RecommendationModel.window`):
            // the pairs are counted again from the mirrored favorites.
            ["DELETE FROM rec_pairs", RecommendationModel.rebuildPairs(window: 50)]
        },
        Migration(version: 10, name: "idempotency keys") { dialect in
            let bigint = dialect.bigint
            // Creates sent with an `Idempotency-Key` (`KeyedWrite`), on the shard of what
            // they created; not moved by `fleet shard-move`, deleted after a day.
            return [
                """
                CREATE TABLE idempotency_keys (
                    user_id \(unsafeSQL: bigint) NOT NULL,
                    client_key TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    resource_id \(unsafeSQL: bigint) NOT NULL,
                    created_at \(unsafeSQL: bigint) NOT NULL,
                    PRIMARY KEY (user_id, client_key)
                )
                """,
                "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
            ]
        },
    ])

    /// Where each table's rows belong: the logical shard of the id in `owner`, or for the
    /// directory, of the name (hashed). `direct_articles` is on every physical shard and
    /// never moves; jobs stay where they were enqueued (their handlers find rows through
    /// the map), and so do idempotency keys (kept a day). What `fleet shard-move` copies;
    /// derived tables (`tags`) are recounted instead.
    static let shardedTables: [ShardedTable] = [
        ShardedTable(name: "users", owner: .id("id"), key: ["id"]),
        ShardedTable(name: "articles", owner: .id("id"), key: ["id"]),
        ShardedTable(name: "article_tags", owner: .id("article_id"), key: ["tag", "article_id"]),
        ShardedTable(name: "comments", owner: .id("article_id"), key: ["id"]),
        ShardedTable(name: "favorites", owner: .id("user_id"), key: ["user_id", "article_id"]),
        ShardedTable(name: "follows", owner: .id("follower_id"), key: ["follower_id", "followee_id"]),
        ShardedTable(name: "timelines", owner: .id("user_id"), key: ["user_id", "article_id"]),
        ShardedTable(name: "edge_mirror", owner: .id("target_id"), key: ["kind", "target_id", "source_id"]),
        ShardedTable(name: "counters", owner: .slot("slot"), key: ["name", "slot"]),
        ShardedTable(name: "directory", owner: .hashedName("name"), key: ["kind", "name"]),
    ]
}
