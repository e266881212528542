public import FleetData

/// Articles, their tags and favorites.
public struct ArticleService: Sendable {
    let services: ConduitServices

    /// Tags are stored joined by the ASCII unit separator, which `Rules` keeps out of tags.
    static let tagSeparator: UInt8 = 0x1F

    // MARK: - Reads

    /// A page of articles, newest first, and the total count. The page (ids and count),
    /// its articles and their authors come from the caches, each missing part in one
    /// batched query; the viewer's bits take two more. The count of queries never
    /// depends on the page size.
    public func list(_ filter: ArticleFilter, viewer: FleetID?) async throws -> ArticlePage {
        var page: CachedPage
        var missing: [Int] = []
        if filter.followedBy != nil {
            // The feed is one viewer's: nothing to share, so it is not cached.
            page = try await self.page(filter, latest: false)
        } else {
            let cache = filter.favoritedBy == nil ? services.caches.lists : services.caches.favoritedLists
            do {
                page = try await cache.get(Self.pageKey(filter)) { try await self.page(filter, latest: true) } ?? CachedPage(ids: [], count: 0)
            } catch let error as DatabaseError where error.isUnavailable && services.partialLists && services.shards.nodes.count > 1 {
                // A shard is down: the others' part of the page, said to be partial, and
                // never cached.
                (page, missing) = try await gather(filter, latest: false, partial: true)
            }
        }
        // Every author in a feed is one the viewer follows: no query needed to say so.
        return ArticlePage(
            articles: try await listed(page.ids, viewer: viewer, followsEveryAuthor: filter.followedBy != nil),
            articlesCount: page.count, missingShards: missing
        )
    }

    /// The articles with these ids that exist, in their order, as a list shows them (no
    /// body): from the article cache, the missing ones in one batched query, then
    /// `hydrate`. A fixed number of queries whatever the count.
    func listed(_ ids: [Int64], viewer: FleetID?, followsEveryAuthor: Bool = false) async throws -> [Article] {
        let shards = services.shards
        let found = try await services.caches.articles.getMany(ids.map(String.init)) { ids in
            try await Self.articles(ids.compactMap { Int64($0) }, in: shards)
        }
        return try await hydrate(ids.compactMap { found[String($0)] }, viewer: viewer, withBody: false, followsEveryAuthor: followsEveryAuthor)
    }

    public func article(_ slug: String, viewer: FleetID?) async throws -> Article {
        try await hydrate([try await cached(slug)], viewer: viewer, withBody: true)[0]
    }

    /// Every tag in use, most used first: each shard's counts, summed.
    public func tags() async throws -> [String] {
        let shards = services.shards
        return try await services.caches.tags.get(ConduitCaches.allTags) {
            let perShard = try await shards.scatter { _, node in
                try await node.readLatest { db in
                    try await db.query("SELECT name, articles_count FROM tags WHERE articles_count > 0").map {
                        (try $0.decode(at: 0, as: String.self), try $0.decode(at: 1, as: Int.self))
                    }
                }
            }
            let counts = Dictionary(perShard.joined().map { ($0.0, $0.1) }, uniquingKeysWith: +)
            return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
        } ?? []
    }

    /// The cached article a slug names, or 404. The id in the slug finds it; the whole
    /// slug must match, so an old slug (before a title change) is not found.
    func cached(_ slug: String) async throws -> CachedArticle {
        guard let id = Slug.id(in: slug), let article = try await cached(id), article.slug == slug else { throw ConduitError.notFound("article") }
        return article
    }

    /// The cached article with this id, or nil.
    func cached(_ id: FleetID) async throws -> CachedArticle? {
        let shards = services.shards
        return try await services.caches.articles.get(id.key, load: { try await Self.articles([id.rawValue], in: shards)[id.key] })
    }

    /// Adds authors (from the user cache) and the viewer's bits (two queries, whatever the
    /// count; one when the viewer is known to follow every author, as in a feed).
    func hydrate(_ articles: [CachedArticle], viewer: FleetID?, withBody: Bool, followsEveryAuthor: Bool = false) async throws -> [Article] {
        guard !articles.isEmpty else { return [] }
        let authors = try await services.users.cached(Set(articles.map(\.authorID)))
        let ids = articles.map { FleetID(rawValue: $0.id) }
        let authorIDs = articles.map { FleetID(rawValue: $0.authorID) }
        var (favorited, following) = try await ViewerRelations.of(
            viewer, articles: ids, authors: followsEveryAuthor ? [] : authorIDs, in: services.shards
        )
        if followsEveryAuthor { following = Set(authorIDs) }
        return articles.compactMap { cached in
            guard let author = authors[cached.authorID] else { return nil }
            return Article(
                id: FleetID(rawValue: cached.id), slug: cached.slug, title: cached.title, description: cached.description,
                body: withBody ? cached.body : nil, tagList: cached.tagList,
                createdAt: Timestamp(milliseconds: cached.createdAt), updatedAt: Timestamp(milliseconds: cached.updatedAt),
                favorited: favorited.contains(FleetID(rawValue: cached.id)), favoritesCount: cached.favoritesCount,
                author: author.profile(following: following.contains(FleetID(rawValue: cached.authorID))),
                authorID: FleetID(rawValue: cached.authorID)
            )
        }
    }

    /// One page of ids for a filter, and the filter's total, gathered from every shard
    /// that can hold a match: each returns its newest `offset + limit` ids and its count,
    /// and a k-way merge cuts the page. Filters that name a user narrow the shards first
    /// (an author's articles live on the author's shard; a viewer's follows and a user's
    /// favorites say, in one bounded query, which logical shards they reach). On each
    /// shard the filter is a join the database runs (on the mirror of follows and
    /// favorites, see `EdgeRelay`), so no request binds a list that grows with a user's
    /// follows or favorites. `latest` for pages that are cached for everyone (see
    /// `Database.readLatest`).
    func page(_ filter: ArticleFilter, latest: Bool) async throws -> CachedPage {
        try await gather(filter, latest: latest, partial: false).page
    }

    /// `page`, and with `partial` the shards left out because they did not answer.
    private func gather(_ filter: ArticleFilter, latest: Bool, partial: Bool) async throws -> (page: CachedPage, missing: [Int]) {
        if let viewer = filter.followedBy {
            // The feed reads the viewer's timeline (the route sets no other filter).
            return (try await services.timelines.page(for: viewer, limit: filter.limit, offset: filter.offset), [])
        }
        let empty = (page: CachedPage(ids: [], count: 0), missing: [Int]())
        let shards = services.shards
        var scope = PageScope()
        if let author = filter.author {
            guard let id = try await services.profiles.userID(named: author) else { return empty }
            scope.author = id
            scope.narrow(to: [id.shard])
        }
        if let favoritedBy = filter.favoritedBy {
            guard let id = try await services.profiles.userID(named: favoritedBy) else { return empty }
            scope.favoritedBy = id
            if shards.nodes.count > 1 {
                scope.narrow(to: try await Self.logicalShards(of: .favorite, from: id, in: shards, latest: latest))
            }
        }
        let targets = scope.shards(in: shards)
        guard !targets.isEmpty else { return empty }
        let countQuery = Self.countQuery(for: filter, scope: scope)
        // One shard can page by itself; several each send their first offset + limit.
        let (limit, offset) = targets.count == 1 ? (filter.limit, filter.offset) : (filter.offset + filter.limit, 0)
        let pageQuery = Self.pageQuery(for: filter, scope: scope, limit: limit, offset: offset)
        let read: @Sendable (Int, InstrumentedDatabase) async throws -> CachedPage = { _, node in
            try await Self.read(node, latest: latest) { db in
                let count = try await db.first(countQuery)?.decode(at: 0, as: Int.self) ?? 0
                return CachedPage(ids: try await db.query(pageQuery).map { try $0.decode(at: 0) }, count: count)
            }
        }
        let (pages, missing) = partial ? try await shards.scatterAvailable(targets, read) : (try await shards.scatter(targets, read), [])
        let count = pages.reduce(0) { $0 + $1.count }
        guard targets.count > 1 else { return (CachedPage(ids: pages[0].ids, count: count), missing) }
        let merged = mergeDescending(pages.map { $0.ids }, limit: filter.offset + filter.limit)
        return (CachedPage(ids: Array(merged.dropFirst(filter.offset)), count: count), missing)
    }

    /// The logical shards a user's follows or favorites point at: at most 1024 rows, read
    /// on the user's own shard, whatever the number of edges.
    private static func logicalShards(of kind: Edge.Kind, from user: FleetID, in shards: Shards, latest: Bool) async throws -> Set<LogicalShard> {
        let shard = "(\(kind.targetColumn) >> \(unsafeSQL: String(FleetID.sequenceBits))) & \(unsafeSQL: String(FleetID.logicalShardCount - 1))" as SQLQuery
        return try await read(shards.node(for: user), latest: latest) { db in
            Set(try await db.query("SELECT DISTINCT \(shard) FROM \(kind.table) WHERE \(kind.sourceColumn) = \(bind: user)")
                .map { LogicalShard(rawValue: try $0.decode(at: 0, as: Int.self)) })
        }
    }

    private static func read<Result: Sendable>(
        _ node: InstrumentedDatabase, latest: Bool, _ body: @Sendable (any SQLExecutor) async throws -> Result
    ) async throws -> Result {
        latest ? try await node.readLatest(body) : try await node.read(body)
    }

    /// The cache key of a page: every filter that shapes it, each value escaped by length.
    static func pageKey(_ filter: ArticleFilter) -> String {
        func part(_ name: String, _ value: String?) -> String { value.map { "\(name)\($0.utf8.count)=\($0)" } ?? "" }
        return part("t", filter.tag) + part("a", filter.author?.lowercased()) + part("f", filter.favoritedBy?.lowercased())
            + "l\(filter.limit)o\(filter.offset)"
    }

    /// Articles by id, in one query; `locked` as for `locate`.
    static func articles(_ ids: [Int64], locked: Bool = false, in db: any SQLExecutor) async throws -> [String: CachedArticle] {
        guard !ids.isEmpty else { return [:] }
        do {
            let rows = try await db.query(
                """
                SELECT id, slug, title, description, body, tag_list, created_at, updated_at, favorites_count, author_id
                FROM articles WHERE id IN (\(binds: ids))\(unsafeSQL: locked ? db.dialect.forUpdate : "")
                """
            )
            var result: [String: CachedArticle] = [:]
            for row in rows {
                let article = CachedArticle(
                    id: try row.decode(at: 0), slug: try row.decode(at: 1), title: try row.decode(at: 2), description: try row.decode(at: 3),
                    body: try row.decode(at: 4), tagList: splitTags(try row.decode(at: 5)), createdAt: try row.decode(at: 6),
                    updatedAt: try row.decode(at: 7), favoritesCount: try row.decode(at: 8), authorID: try row.decode(at: 9)
                )
                result[String(article.id)] = article
            }
            return result
        }
    }

    /// Articles by id for the article cache, from each shard holding some: the latest
    /// committed state.
    static func articles(_ ids: [Int64], in shards: Shards) async throws -> [String: CachedArticle] {
        guard !ids.isEmpty else { return [:] }
        let groups = shards.partition(ids) { FleetID(rawValue: $0) }
        let found = try await shards.scatter(groups.map(\.physical)) { physical, node in
            let ids = groups.first { $0.physical == physical }?.items ?? []
            return try await node.readLatest { db in try await articles(ids, in: db) }
        }
        return found.reduce(into: [:]) { $0.merge($1) { $1 } }
    }

    // MARK: - Writes

    /// A new article by `author`. With a `key`, a request that comes again gets the
    /// article the first one created (as it is now; 404 if deleted since).
    public func create(
        title: String?, description: String?, body: String?, tagList: [String]?, author: FleetID, key: IdempotencyKey? = nil
    ) async throws -> Article {
        var validator = Validator()
        let title = validator.required("title", title, Rules.title)
        let description = validator.required("description", description, Rules.description)
        let body = validator.required("body", body, Rules.articleBody)
        let tags = Rules.tags(tagList, into: &validator)
        try validator.check()
        let keyed = key.map { KeyedWrite(user: author, key: $0, request: ["article", title, description, body] + tags) }

        // The article lives on its author's shard.
        let id = services.ids.next(on: author.shard)
        let slug = Slug.make(title: title, id: id)
        let now = services.now()
        let feed = services.feed
        let timelines = services.timelines
        let outcome = try await KeyedWrite.transaction(keyed, creating: id.rawValue, now: now, on: services.shards.node(for: author)) { db in
            guard let user = try await UserService.user(where: "id = \(bind: author)", in: db) else { throw ConduitError.invalidToken }
            // Fanned out to the followers' timelines, or merged in at read time (a big author).
            let followers = try await db.first("SELECT followers_count FROM users WHERE id = \(bind: author)")?.decode(at: 0, as: Int.self) ?? 0
            let fannedOut = followers <= feed.fanoutMaxFollowers
            try await db.execute(
                """
                INSERT INTO articles (id, author_id, slug, title, description, body, tag_list, favorites_count, created_at, updated_at, fanned_out)
                VALUES (\(bind: id), \(bind: author), \(bind: slug), \(bind: title), \(bind: description), \(bind: body),
                        \(bind: Self.joinTags(tags)), 0, \(bind: now), \(bind: now), \(bind: fannedOut ? 1 : 0))
                """
            )
            try await Self.attach(tags, to: id, in: db)
            try await Self.countArticle(by: author, change: 1, fannedOut: fannedOut, in: db)
            let event = Timelines.ArticleEvent(article: id.rawValue, author: author.rawValue, fannedOut: fannedOut)
            let queued = [
                try await services.invalidating(ConduitCaches.articleSetChanged, owner: author, now: now, in: db),
                try await timelines.enqueue(event, followers: followers, now: now, in: db),
            ]
            // Everything the response shows is known here: no need to read it back.
            let article = Article(
                id: id, slug: slug, title: title, description: description, body: body, tagList: tags,
                createdAt: Timestamp(milliseconds: now), updatedAt: Timestamp(milliseconds: now), favorited: false, favoritesCount: 0,
                author: Profile(username: user.username, bio: user.bio, image: user.image, following: false), authorID: author
            )
            return (article, queued)
        }
        switch outcome {
        case .made(let (article, queued)):
            await services.deliver(queued)
            return article
        case .earlier(let id):
            guard let article = try await cached(FleetID(rawValue: id)) else { throw ConduitError.notFound("article") }
            return try await hydrate([article], viewer: author, withBody: true)[0]
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
        let title = update.title.isAbsent ? nil : validator.required("title", update.title.value, Rules.title)
        let description = update.description.isAbsent ? nil : validator.required("description", update.description.value, Rules.description)
        let body = update.body.isAbsent ? nil : validator.required("body", update.body.value, Rules.articleBody)
        if case .null = update.tagList { validator.add("tagList", "must be a list (use [] to remove every tag)") }
        let tags = update.tagList.isAbsent ? nil : Rules.tags(update.tagList.value, into: &validator)
        try validator.check()
        let now = services.now()

        let services = services
        let (newSlug, stale) = try await services.shards.node(for: try CommentService.articleID(slug)).transaction { db in
            // Locked: of two concurrent updates, the second applies its fields to what the
            // first wrote; a concurrent delete either waits for this or makes it a 404.
            guard let id = Slug.id(in: slug), let article = try await Self.articles([id.rawValue], locked: true, in: db)[id.key],
                article.slug == slug
            else { throw ConduitError.notFound("article") }
            guard article.authorID == user.rawValue else { throw ConduitError.forbidden("article") }
            let newSlug = title.map { Slug.make(title: $0, id: id) } ?? article.slug
            // Strictly increasing, even for two updates within one millisecond.
            let updatedAt = max(now, article.updatedAt + 1)
            try await db.execute(
                """
                UPDATE articles SET slug = \(bind: newSlug), title = \(bind: title ?? article.title),
                    description = \(bind: description ?? article.description), body = \(bind: body ?? article.body),
                    tag_list = \(bind: Self.joinTags(tags ?? article.tagList)), updated_at = \(bind: updatedAt)
                WHERE id = \(bind: id)
                """
            )
            // Compared byte for byte: SQL tells apart what Swift's `==` finds equal.
            let tagsChanged = tags.map { $0.map { Array($0.utf8) } != article.tagList.map { Array($0.utf8) } } ?? false
            if let tags, tagsChanged {
                try await Self.detach(from: id, in: db)
                try await Self.attach(tags, to: id, in: db)
            }
            let changes = ConduitCaches.articleChanged(id) + (tagsChanged ? ConduitCaches.articleSetChanged : [])
            return (newSlug, try await services.invalidating(changes, owner: id, now: now, in: db))
        }
        await services.deliver(stale)
        return try await article(newSlug, viewer: user)
    }

    public func delete(_ slug: String, by user: FleetID) async throws {
        let now = services.now()
        let timelines = services.timelines
        let edges = services.edges
        let services = services
        let (queued, followUps) = try await services.shards.node(for: try CommentService.articleID(slug)).transaction { db in
            // Locked: a second delete, or an update, waits and then finds the article gone
            // (404) instead of counting it out twice or re-attaching its tags.
            let located = try await Self.locate(slug, locked: true, in: db)
            guard located.authorID == user else { throw ConduitError.forbidden("article") }
            // Deleted first: a favorite being mirrored right now holds the row (see
            // `EdgeRelay.reconcile`), so once this returns its mirror row is visible below.
            let fannedOut = try await db.first("SELECT fanned_out FROM articles WHERE id = \(bind: located.id)")?.decode(at: 0, as: Int.self) != 0
            let followers = try await db.first("SELECT followers_count FROM users WHERE id = \(bind: located.authorID)")?.decode(at: 0, as: Int.self) ?? 0
            try await db.execute("DELETE FROM articles WHERE id = \(bind: located.id)")
            try await Self.detach(from: located.id, in: db)
            // Favorites live on their users' shards: each is queued for removal there.
            let favoriters = try await db.query(
                "SELECT source_id FROM edge_mirror WHERE kind = 'favorite' AND target_id = \(bind: located.id)"
            ).map { try $0.decode(at: 0, as: Int64.self) }
            var queued: [AfterCommit?] = []
            for favoriter in favoriters {
                let edge = Edge(kind: .favorite, source: favoriter, target: located.id.rawValue)
                queued.append(try await edges.enqueue(edge, owner: located.id, now: now, in: db))
            }
            try await db.execute("DELETE FROM comments WHERE article_id = \(bind: located.id)")
            try await Self.countArticle(by: located.authorID, change: -1, fannedOut: fannedOut, in: db)
            let event = Timelines.ArticleEvent(article: located.id.rawValue, author: located.authorID.rawValue, fannedOut: fannedOut)
            let timeline = try await timelines.enqueue(event, followers: followers, now: now, in: db)
            let changes = ConduitCaches.favoritesChanged(located.id) + ConduitCaches.articleSetChanged
            return (queued, [try await services.invalidating(changes, owner: located.id, now: now, in: db), timeline])
        }
        await services.deliver(followUps)
        // A popular article's favorites beyond the first few are left to their jobs.
        await services.deliver(Array(queued.prefix(Self.favoritesRemovedInline)))
    }

    static let favoritesRemovedInline = 32

    public func favorite(_ slug: String, by user: FleetID) async throws -> Article {
        try await changeFavorite(slug, by: user, favorite: true)
    }

    public func unfavorite(_ slug: String, by user: FleetID) async throws -> Article {
        try await changeFavorite(slug, by: user, favorite: false)
    }

    /// The favorite is the user's: written on the user's shard with an outbox row, then
    /// mirrored (with the count) on the article's shard by `EdgeRelay`.
    private func changeFavorite(_ slug: String, by user: FleetID, favorite: Bool) async throws -> Article {
        let articleID = FleetID(rawValue: try await cached(slug).id)  // 404 for an unknown article
        let now = services.now()
        let edge = Edge(kind: .favorite, source: user.rawValue, target: articleID.rawValue)
        let edges = services.edges
        let services = services
        let followUps = try await services.shards.node(for: user).transaction { db -> [AfterCommit?] in
            let changed = favorite
                ? try await db.query(
                    """
                    INSERT INTO favorites (user_id, article_id, created_at) VALUES (\(bind: user), \(bind: articleID), \(bind: now))
                    ON CONFLICT DO NOTHING RETURNING article_id
                    """
                )
                : try await db.query("DELETE FROM favorites WHERE user_id = \(bind: user) AND article_id = \(bind: articleID) RETURNING article_id")
            guard !changed.isEmpty else { return [] }
            return [
                try await edges.enqueue(edge, owner: user, now: now, in: db),
                // The article's count and every `favorited=` page.
                try await services.invalidating(ConduitCaches.favoritesChanged(articleID), owner: user, now: now, in: db),
                // The recommender's model, by its workers.
                try await AfterCommit.enqueue(
                    ConduitJobs.recommendFavorite, FavoriteEvent(user: user.rawValue, article: articleID.rawValue, favorited: favorite),
                    owner: user, now: now, in: db, inline: nil
                ),
            ]
        }
        await services.deliver(followUps)
        return try await article(slug, viewer: user)
    }

    // MARK: - Building blocks

    /// The id and author of the article a slug names, or 404. `locked` (in a transaction):
    /// the row stays locked until it ends, so a concurrent update or delete of the article
    /// waits, then sees what this one did.
    static func locate(_ slug: String, locked: Bool = false, in db: any SQLExecutor) async throws -> (id: FleetID, authorID: FleetID) {
        guard let id = Slug.id(in: slug),
            let row = try await db.first(
                "SELECT author_id, slug FROM articles WHERE id = \(bind: id)\(unsafeSQL: locked ? db.dialect.forUpdate : "")"
            ),
            try row.decode(at: 1, as: String.self) == slug
        else { throw ConduitError.notFound("article") }
        return (id, try row.decode(at: 0))
    }

    /// The conditions of a filter, with the users it names resolved; the same on every shard.
    static func conditions(for filter: ArticleFilter, scope: PageScope) -> [SQLQuery] {
        var conditions: [SQLQuery] = []
        if let tag = filter.tag {
            conditions.append("a.id IN (SELECT article_id FROM article_tags WHERE tag = \(bind: tag))")
        }
        if let author = scope.author { conditions.append("a.author_id = \(bind: author)") }
        if let user = scope.favoritedBy {
            conditions.append("a.id IN (SELECT target_id FROM edge_mirror WHERE kind = 'favorite' AND source_id = \(bind: user))")
        }
        return conditions
    }

    /// A shard's page of ids, newest first. It walks the index of what the filter names
    /// (the tag's links, the user's favorites, or the articles themselves) from its newest
    /// entry and stops after `offset + limit` matches, so a page of a tag on half a million
    /// articles costs what a page of a tag on twenty does. Matching articles by
    /// `id IN (SELECT ...)` instead read every link of the tag first.
    static func pageQuery(for filter: ArticleFilter, scope: PageScope, limit: Int, offset: Int) -> SQLQuery {
        var rest = (filter: filter, scope: scope)
        let walk: (table: SQLQuery, id: SQLQuery, match: SQLQuery?)
        if let tag = filter.tag {
            rest.filter.tag = nil
            walk = ("article_tags w JOIN articles a ON a.id = w.article_id", "w.article_id", "w.tag = \(bind: tag)")
        } else if let user = scope.favoritedBy {
            rest.scope.favoritedBy = nil
            walk = ("edge_mirror w JOIN articles a ON a.id = w.target_id", "w.target_id", "w.kind = 'favorite' AND w.source_id = \(bind: user)")
        } else {
            walk = ("articles a", "a.id", nil)
        }
        let conditions = (walk.match.map { [$0] } ?? []) + Self.conditions(for: rest.filter, scope: rest.scope)
        return "SELECT \(walk.id) FROM \(walk.table) \(whereClause(conditions)) ORDER BY \(walk.id) DESC LIMIT \(bind: limit) OFFSET \(bind: offset)"
    }

    static func whereClause(_ conditions: [SQLQuery]) -> SQLQuery {
        conditions.isEmpty ? "" : "WHERE \(conditions.joined(separator: " AND "))"
    }

    /// A shard's share of a filter's total. The common shapes read counters kept up to date
    /// by every write (all articles, per tag, per author, sum over followed authors), so a
    /// count costs the same whether it is ten or ten million; other combinations count rows.
    static func countQuery(for filter: ArticleFilter, scope: PageScope) -> SQLQuery {
        switch (filter.tag, scope.author, scope.favoritedBy) {
        case (nil, nil, nil):
            "SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) FROM counters WHERE name = 'articles'"
        case (let tag?, nil, nil):
            "SELECT COALESCE(MAX(articles_count), 0) FROM tags WHERE name = \(bind: tag)"
        case (nil, let author?, nil):
            "SELECT COALESCE(MAX(articles_count), 0) FROM users WHERE id = \(bind: author)"
        default:
            "SELECT COUNT(*) FROM articles a \(whereClause(conditions(for: filter, scope: scope)))"
        }
    }

    /// Counts an article in its author's logical shard's slot: writers on different shards
    /// update different rows, and the slot moves with the shard's rows.
    static func countArticle(by author: FleetID, change: Int, fannedOut: Bool, in db: any SQLExecutor) async throws {
        try await db.execute(
            """
            INSERT INTO counters (name, slot, value) VALUES ('articles', \(bind: author.shard.rawValue), \(bind: change))
            ON CONFLICT (name, slot) DO UPDATE SET value = counters.value + excluded.value
            """
        )
        // The version orders the fanned-out count that fan-outs copy into follow rows.
        try await db.execute(
            """
            UPDATE users SET articles_count = articles_count + \(bind: change), fanned_articles = fanned_articles + \(bind: fannedOut ? change : 0),
                articles_version = articles_version + 1
            WHERE id = \(bind: author)
            """
        )
    }

    /// Links tags to an article and counts them: two statements, whatever the number of tags.
    static func attach(_ tags: [String], to article: FleetID, in db: any SQLExecutor) async throws {
        guard !tags.isEmpty else { return }
        let links = tags.map { "(\(bind: $0), \(bind: article))" as SQLQuery }.joined(separator: ", ")
        try await db.execute("INSERT INTO article_tags (tag, article_id) VALUES \(links)")
        // Tag rows are locked in code-point order, here and in `detach`, so that two writers
        // of the same tags cannot deadlock each other.
        let counts = Rules.sortedTags(tags).map { "(\(bind: $0), 1)" as SQLQuery }.joined(separator: ", ")
        try await db.execute(
            """
            INSERT INTO tags (name, articles_count) VALUES \(counts)
            ON CONFLICT (name) DO UPDATE SET articles_count = tags.articles_count + 1
            """
        )
    }

    /// Unlinks every tag of an article and uncounts them. What is unlinked is what the
    /// links say, never what a caller believes the tags are: two spellings that Swift finds
    /// equal (`café` composed and decomposed) are different rows to SQL.
    static func detach(from article: FleetID, in db: any SQLExecutor) async throws {
        let tags = try await db.query("DELETE FROM article_tags WHERE article_id = \(bind: article) RETURNING tag")
            .map { try $0.decode(at: 0, as: String.self) }
        guard !tags.isEmpty else { return }
        // Locked in the order `attach` locks them (see `SQLDialect.lockInOrder`).
        try await db.execute(
            """
            UPDATE tags SET articles_count = articles_count - 1
            WHERE name IN (SELECT name FROM tags WHERE name IN (\(binds: tags)) \(unsafeSQL: db.dialect.lockInOrder("name")))
            """
        )
        try await db.execute("DELETE FROM tags WHERE articles_count <= 0 AND name IN (\(binds: tags))")
    }

    static func joinTags(_ tags: [String]) -> String { tags.joined(separator: String(UnicodeScalar(tagSeparator))) }

    /// The stored tags, in `tagList` order (rows written before tags were sorted on the way in are sorted here).
    static func splitTags(_ stored: String) -> [String] {
        stored.isEmpty ? [] : Rules.sortedTags(stored.utf8.split(separator: tagSeparator).map { String(decoding: $0, as: UTF8.self) })
    }
}
