public import FleetData
import FleetHTTP

/// Articles, their tags and favorites.
public struct ArticleService: Sendable {
    let services: ConduitServices

    /// Tags are stored joined by the ASCII unit separator, which `Rules` keeps out of tags.
    static let tagSeparator: UInt8 = 0x1F

    // MARK: - Reads

    /// A page of articles, newest first, and the total count. A fixed number of queries,
    /// whatever the page size: count, page, and the viewer's bits for the whole page.
    public func list(_ filter: ArticleFilter, viewer: FleetID?) async throws -> ArticlePage {
        try await services.database.read { db in
            let conditions = Self.conditions(for: filter)
            let count = try await db.first(Self.countQuery(for: filter, conditions: conditions))?.decode(at: 0, as: Int.self) ?? 0
            let rows = try await db.query(
                """
                \(Self.select(withBody: false)) \(Self.whereClause(conditions))
                ORDER BY a.id DESC LIMIT \(bind: filter.limit) OFFSET \(bind: filter.offset)
                """
            )
            let articles = try await Self.personalize(try rows.map { try Self.article(from: $0, withBody: false) }, for: viewer, in: db)
            return ArticlePage(articles: articles, articlesCount: count)
        }
    }

    public func article(_ slug: String, viewer: FleetID?) async throws -> Article {
        try await services.database.read { db in try await Self.load(slug, viewer: viewer, in: db) }
    }

    public func tags() async throws -> [String] {
        try await services.database.read { db in
            try await db.query("SELECT name FROM tags WHERE articles_count > 0 ORDER BY articles_count DESC, name")
                .map { try $0.decode(at: 0) }
        }
    }

    // MARK: - Writes

    public func create(title: String?, description: String?, body: String?, tagList: [String]?, author: FleetID) async throws -> Article {
        var validator = Validator()
        let title = validator.required("title", title, maxLength: Rules.titleMaxLength)
        let description = validator.required("description", description, maxLength: Rules.descriptionMaxLength)
        let body = validator.required("body", body, maxLength: Rules.articleBodyMaxLength)
        let tags = Rules.tags(tagList, into: &validator)
        try validator.check()

        // The article lives on its author's shard.
        let id = services.ids.next(on: author.shard)
        let slug = Slug.make(title: title, id: id)
        let now = services.now()
        return try await services.database.transaction { db in
            guard let user = try await UserService.user(where: "id = \(bind: author)", in: db) else { throw APIError.invalidToken }
            try await db.execute(
                """
                INSERT INTO articles (id, author_id, slug, title, description, body, tag_list, favorites_count, created_at, updated_at)
                VALUES (\(bind: id), \(bind: author), \(bind: slug), \(bind: title), \(bind: description), \(bind: body),
                        \(bind: Self.joinTags(tags)), 0, \(bind: now), \(bind: now))
                """
            )
            try await Self.attach(tags, to: id, in: db)
            try await Self.countArticle(by: author, change: 1, in: db)
            // Everything the response shows is known here: no need to read it back.
            return Article(
                id: id, slug: slug, title: title, description: description, body: body, tagList: tags,
                createdAt: Timestamp(milliseconds: now), updatedAt: Timestamp(milliseconds: now), favorited: false, favoritesCount: 0,
                author: Profile(username: user.username, bio: user.bio, image: user.image, following: false), authorID: author
            )
        }
    }

    /// A change to an article; nil fields stay as they are.
    public struct Update: Sendable {
        public var title: Patch<String> = .absent
        public var description: Patch<String> = .absent
        public var body: Patch<String> = .absent
        public var tagList: Patch<[String]> = .absent
        public init() {}
    }

    public func update(_ slug: String, with update: Update, by user: FleetID) async throws -> Article {
        var validator = Validator()
        let title = update.title.isAbsent ? nil : validator.required("title", update.title.value, maxLength: Rules.titleMaxLength)
        let description = update.description.isAbsent
            ? nil : validator.required("description", update.description.value, maxLength: Rules.descriptionMaxLength)
        let body = update.body.isAbsent ? nil : validator.required("body", update.body.value, maxLength: Rules.articleBodyMaxLength)
        if case .null = update.tagList { validator.add("tagList", "must be a list (use [] to remove every tag)") }
        let tags = update.tagList.isAbsent ? nil : Rules.tags(update.tagList.value, into: &validator)
        try validator.check()
        let now = services.now()

        return try await services.database.transaction { db in
            var article = try await Self.load(slug, viewer: user, in: db)
            guard article.authorID == user else { throw APIError.forbidden("article") }
            let newSlug = title.map { Slug.make(title: $0, id: article.id) } ?? article.slug
            // Strictly increasing, even for two updates within one millisecond.
            let updatedAt = max(now, article.updatedAt.milliseconds + 1)
            try await db.execute(
                """
                UPDATE articles SET slug = \(bind: newSlug), title = \(bind: title ?? article.title),
                    description = \(bind: description ?? article.description), body = \(bind: body ?? article.body ?? ""),
                    tag_list = \(bind: Self.joinTags(tags ?? article.tagList)), updated_at = \(bind: updatedAt)
                WHERE id = \(bind: article.id)
                """
            )
            if let tags, tags != article.tagList {
                try await Self.detach(article.tagList, from: article.id, in: db)
                try await Self.attach(tags, to: article.id, in: db)
            }
            article.slug = newSlug
            article.title = title ?? article.title
            article.description = description ?? article.description
            article.body = body ?? article.body
            article.tagList = tags ?? article.tagList
            article.updatedAt = Timestamp(milliseconds: updatedAt)
            return article
        }
    }

    public func delete(_ slug: String, by user: FleetID) async throws {
        try await services.database.transaction { db in
            let located = try await Self.locate(slug, in: db)
            guard located.authorID == user else { throw APIError.forbidden("article") }
            try await Self.detach(located.tags, from: located.id, in: db)
            try await db.execute("DELETE FROM favorites WHERE article_id = \(bind: located.id)")
            try await db.execute("DELETE FROM comments WHERE article_id = \(bind: located.id)")
            try await db.execute("DELETE FROM articles WHERE id = \(bind: located.id)")
            try await Self.countArticle(by: located.authorID, change: -1, in: db)
        }
    }

    public func favorite(_ slug: String, by user: FleetID) async throws -> Article {
        let now = services.now()
        return try await services.database.transaction { db in
            let located = try await Self.locate(slug, in: db)
            let inserted = try await db.query(
                """
                INSERT INTO favorites (user_id, article_id, created_at) VALUES (\(bind: user), \(bind: located.id), \(bind: now))
                ON CONFLICT DO NOTHING RETURNING article_id
                """
            )
            if !inserted.isEmpty {
                try await db.execute("UPDATE articles SET favorites_count = favorites_count + 1 WHERE id = \(bind: located.id)")
            }
            return try await Self.load(slug, viewer: user, in: db)
        }
    }

    public func unfavorite(_ slug: String, by user: FleetID) async throws -> Article {
        try await services.database.transaction { db in
            let located = try await Self.locate(slug, in: db)
            let deleted = try await db.query(
                "DELETE FROM favorites WHERE user_id = \(bind: user) AND article_id = \(bind: located.id) RETURNING article_id"
            )
            if !deleted.isEmpty {
                try await db.execute("UPDATE articles SET favorites_count = favorites_count - 1 WHERE id = \(bind: located.id)")
            }
            return try await Self.load(slug, viewer: user, in: db)
        }
    }

    // MARK: - Building blocks

    /// The id, author and tags of the article a slug names, or 404.
    static func locate(_ slug: String, in db: any SQLExecutor) async throws -> (id: FleetID, authorID: FleetID, tags: [String]) {
        guard let id = Slug.id(in: slug),
            let row = try await db.first("SELECT author_id, slug, tag_list FROM articles WHERE id = \(bind: id)"),
            try row.decode(at: 1, as: String.self) == slug
        else { throw APIError.notFound("article") }
        return (id, try row.decode(at: 0), splitTags(try row.decode(at: 2)))
    }

    static func load(_ slug: String, viewer: FleetID?, in db: any SQLExecutor) async throws -> Article {
        guard let id = Slug.id(in: slug),
            let row = try await db.first("\(select(withBody: true)) WHERE a.id = \(bind: id)"),
            try row.decode(at: 1, as: String.self) == slug
        else { throw APIError.notFound("article") }
        return try await personalize([try article(from: row, withBody: true)], for: viewer, in: db)[0]
    }

    static func personalize(_ articles: [Article], for viewer: FleetID?, in db: any SQLExecutor) async throws -> [Article] {
        guard viewer != nil, !articles.isEmpty else { return articles }
        let favorited = try await ViewerRelations.favorited(by: viewer, among: articles.map(\.id), in: db)
        let following = try await ViewerRelations.followed(by: viewer, among: articles.map(\.authorID), in: db)
        return articles.map { article in
            var article = article
            article.favorited = favorited.contains(article.id)
            article.author.following = following.contains(article.authorID)
            return article
        }
    }

    static func select(withBody: Bool) -> SQLQuery {
        """
        SELECT a.id, a.slug, a.title, a.description, a.tag_list, a.favorites_count, a.created_at, a.updated_at,
               a.author_id, u.username, u.bio, u.image\(unsafeSQL: withBody ? ", a.body" : "")
        FROM articles a JOIN users u ON u.id = a.author_id
        """
    }

    static func article(from row: SQLRow, withBody: Bool) throws -> Article {
        Article(
            id: try row.decode(at: 0), slug: try row.decode(at: 1), title: try row.decode(at: 2),
            description: try row.decode(at: 3), body: withBody ? try row.decode(at: 12) : nil,
            tagList: splitTags(try row.decode(at: 4)),
            createdAt: Timestamp(milliseconds: try row.decode(at: 6)), updatedAt: Timestamp(milliseconds: try row.decode(at: 7)),
            favorited: false, favoritesCount: try row.decode(at: 5),
            author: Profile(username: try row.decode(at: 9), bio: try row.decode(at: 10), image: try row.decode(at: 11), following: false),
            authorID: try row.decode(at: 8)
        )
    }

    static func conditions(for filter: ArticleFilter) -> [SQLQuery] {
        var conditions: [SQLQuery] = []
        if let tag = filter.tag {
            conditions.append("a.id IN (SELECT article_id FROM article_tags WHERE tag = \(bind: tag))")
        }
        if let author = filter.author {
            conditions.append("a.author_id IN (SELECT id FROM users WHERE username_key = \(bind: author.lowercased()))")
        }
        if let favoritedBy = filter.favoritedBy {
            conditions.append(
                """
                a.id IN (SELECT f.article_id FROM favorites f JOIN users fu ON fu.id = f.user_id
                         WHERE fu.username_key = \(bind: favoritedBy.lowercased()))
                """
            )
        }
        if let follower = filter.followedBy {
            conditions.append("a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = \(bind: follower))")
        }
        return conditions
    }

    static func whereClause(_ conditions: [SQLQuery]) -> SQLQuery {
        conditions.isEmpty ? "" : "WHERE \(conditions.joined(separator: " AND "))"
    }

    /// The total for a filter. The common shapes read counters kept up to date by every
    /// write (all articles, per tag, per author, sum over followed authors), so a count
    /// costs the same whether it is ten or ten million; other combinations count rows.
    static func countQuery(for filter: ArticleFilter, conditions: [SQLQuery]) -> SQLQuery {
        switch (filter.tag, filter.author, filter.favoritedBy, filter.followedBy) {
        case (nil, nil, nil, nil):
            "SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) FROM counters WHERE name = 'articles'"
        case (let tag?, nil, nil, nil):
            "SELECT COALESCE(MAX(articles_count), 0) FROM tags WHERE name = \(bind: tag)"
        case (nil, let author?, nil, nil):
            "SELECT COALESCE(MAX(articles_count), 0) FROM users WHERE username_key = \(bind: author.lowercased())"
        case (nil, nil, nil, let follower?):
            """
            SELECT CAST(COALESCE(SUM(articles_count), 0) AS BIGINT) FROM users
            WHERE id IN (SELECT followee_id FROM follows WHERE follower_id = \(bind: follower))
            """
        default:
            "SELECT COUNT(*) FROM articles a \(whereClause(conditions))"
        }
    }

    /// Rows per counter: enough that writers rarely meet on one, few enough to sum cheaply.
    static let counterSlots = 16

    static func countArticle(by author: FleetID, change: Int, in db: any SQLExecutor) async throws {
        try await db.execute(
            """
            INSERT INTO counters (name, slot, value) VALUES ('articles', \(bind: Int.random(in: 0..<counterSlots)), \(bind: change))
            ON CONFLICT (name, slot) DO UPDATE SET value = counters.value + excluded.value
            """
        )
        try await db.execute("UPDATE users SET articles_count = articles_count + \(bind: change) WHERE id = \(bind: author)")
    }

    /// Links tags to an article and counts them: two statements, whatever the number of tags.
    static func attach(_ tags: [String], to article: FleetID, in db: any SQLExecutor) async throws {
        guard !tags.isEmpty else { return }
        let links = tags.map { "(\(bind: $0), \(bind: article))" as SQLQuery }.joined(separator: ", ")
        try await db.execute("INSERT INTO article_tags (tag, article_id) VALUES \(links)")
        // Rows are locked in name order, so two articles with the same tags in a different
        // order cannot deadlock each other.
        let counts = tags.sorted().map { "(\(bind: $0), 1)" as SQLQuery }.joined(separator: ", ")
        try await db.execute(
            """
            INSERT INTO tags (name, articles_count) VALUES \(counts)
            ON CONFLICT (name) DO UPDATE SET articles_count = tags.articles_count + 1
            """
        )
    }

    static func detach(_ tags: [String], from article: FleetID, in db: any SQLExecutor) async throws {
        guard !tags.isEmpty else { return }
        try await db.execute("DELETE FROM article_tags WHERE article_id = \(bind: article)")
        try await db.execute("UPDATE tags SET articles_count = articles_count - 1 WHERE name IN (\(binds: tags))")
        try await db.execute("DELETE FROM tags WHERE articles_count <= 0 AND name IN (\(binds: tags))")
    }

    static func joinTags(_ tags: [String]) -> String { tags.joined(separator: String(UnicodeScalar(tagSeparator))) }

    static func splitTags(_ stored: String) -> [String] {
        stored.isEmpty ? [] : stored.utf8.split(separator: tagSeparator).map { String(decoding: $0, as: UTF8.self) }
    }
}
