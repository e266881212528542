public import FleetData

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
        }
    ])
}
