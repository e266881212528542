public import FleetData

/// Comments on articles. A comment lives on its article's shard (its row id is minted
/// there), so an article's comments are one query; their authors, who may live anywhere,
/// come from the user cache.
///
/// Clients see a comment's number within its article (1, 2, 3, ...), not its row id: a
/// comment is always addressed through its article's slug, and JavaScript parses JSON
/// numbers as doubles, which keep integers exactly only up to 2^53 − 1. The article row
/// holds the last number given, so numbering takes the article's row lock: concurrent
/// comments get distinct numbers, and a comment never lands on an article being deleted.
public struct CommentService: Sendable {
    let services: ConduitServices

    /// An article's comments, newest first: `limit` of them from the `offset`-th. The
    /// Conduit spec returns all of them; a bounded page keeps a viral article's thread
    /// from costing megabytes per request.
    public func list(slug: String, viewer: FleetID?, limit: Int, offset: Int) async throws -> [Comment] {
        let rows = try await services.shards.node(for: try Self.articleID(slug)).read { db in
            let article = try await ArticleService.locate(slug, in: db)
            return try await db.query(
                """
                SELECT number, body, created_at, updated_at, author_id FROM comments WHERE article_id = \(bind: article.id)
                ORDER BY number DESC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """
            )
        }
        let authorIDs = try rows.map { try $0.decode(at: 4, as: FleetID.self) }
        let authors = try await services.users.cached(Set(authorIDs.map(\.rawValue)))
        let following = try await ViewerRelations.of(viewer, articles: [], authors: authorIDs, in: services.shards).following
        return try rows.compactMap { row in
            let authorID: FleetID = try row.decode(at: 4)
            guard let author = authors[authorID.rawValue] else { return nil }
            return try Self.comment(row, author: author.profile(following: following.contains(authorID)))
        }
    }

    /// A comment from a row of `number, body, created_at, updated_at, author_id`.
    private static func comment(_ row: SQLRow, author: Profile) throws -> Comment {
        Comment(
            id: try row.decode(at: 0), createdAt: Timestamp(milliseconds: try row.decode(at: 2)),
            updatedAt: Timestamp(milliseconds: try row.decode(at: 3)), body: try row.decode(at: 1),
            author: author, authorID: try row.decode(at: 4)
        )
    }

    /// A new comment by `author`. With a `key`, a request that comes again gets the comment
    /// the first one created (as it is now; 404 if deleted since).
    public func add(slug: String, body: String?, author: FleetID, key: IdempotencyKey? = nil) async throws -> Comment {
        var validator = Validator()
        let body = validator.required("body", body, Rules.comment)
        try validator.check()
        let articleID = try Self.articleID(slug)
        guard let user = try await services.users.cached([author.rawValue])[author.rawValue] else { throw ConduitError.invalidToken }
        let keyed = key.map { KeyedWrite(user: author, key: $0, request: ["comment", slug, body]) }
        // A comment lives on the article's shard, so it is found with the article.
        let id = services.ids.next(on: articleID.shard)
        let now = services.now()
        let node = services.shards.node(for: articleID)
        let outcome = try await KeyedWrite.transaction(keyed, creating: id.rawValue, now: now, on: node) { db in
            // Takes the next number and the article's row lock in one statement.
            guard let row = try await db.first(
                "UPDATE articles SET comments_seq = comments_seq + 1 WHERE id = \(bind: articleID) RETURNING comments_seq, slug"
            ), try row.decode(at: 1, as: String.self) == slug else { throw ConduitError.notFound("article") }
            let number: Int64 = try row.decode(at: 0)
            try await db.execute(
                """
                INSERT INTO comments (id, article_id, number, author_id, body, created_at, updated_at)
                VALUES (\(bind: id), \(bind: articleID), \(bind: number), \(bind: author), \(bind: body), \(bind: now), \(bind: now))
                """
            )
            return number
        }
        switch outcome {
        case .made(let number):
            return Comment(
                id: number, createdAt: Timestamp(milliseconds: now), updatedAt: Timestamp(milliseconds: now), body: body,
                author: user.profile(following: false), authorID: author
            )
        case .earlier(let id):
            guard let row = try await node.readLatest({ db in
                try await db.first("SELECT number, body, created_at, updated_at, author_id FROM comments WHERE id = \(bind: id)")
            }) else { throw ConduitError.notFound("comment") }
            return try Self.comment(row, author: user.profile(following: false))
        }
    }

    public func delete(slug: String, commentID: String, by user: FleetID) async throws {
        guard let number = Int64(commentID), number > 0 else { throw ConduitError.notFound("comment") }
        try await services.shards.node(for: try Self.articleID(slug)).transaction { db in
            let article = try await ArticleService.locate(slug, in: db)
            // Deleted only if it is the user's; what the statement removed decides the answer.
            let removed = try await db.query(
                """
                DELETE FROM comments WHERE article_id = \(bind: article.id) AND number = \(bind: number) AND author_id = \(bind: user)
                RETURNING number
                """
            )
            guard removed.isEmpty else { return }
            let exists = try await db.first("SELECT 1 FROM comments WHERE article_id = \(bind: article.id) AND number = \(bind: number)")
            throw exists == nil ? ConduitError.notFound("comment") : ConduitError.forbidden("comment")
        }
    }

    /// The article id a slug carries, which routes to its shard; 404 when it has none.
    static func articleID(_ slug: String) throws -> FleetID {
        guard let id = Slug.id(in: slug) else { throw ConduitError.notFound("article") }
        return id
    }
}
