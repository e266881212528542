public import FleetData
import FleetHTTP

/// Comments on articles. A comment lives on its article's shard (its id is minted there),
/// so an article's comments are one query; their authors, who may live anywhere, come
/// from the user cache.
public struct CommentService: Sendable {
    let services: ConduitServices

    public func list(slug: String, viewer: FleetID?) async throws -> [Comment] {
        let rows = try await services.shards.node(for: try Self.articleID(slug)).read { db in
            let article = try await ArticleService.locate(slug, in: db)
            return try await db.query(
                "SELECT id, body, created_at, updated_at, author_id FROM comments WHERE article_id = \(bind: article.id) ORDER BY id DESC"
            )
        }
        let authorIDs = try rows.map { try $0.decode(at: 4, as: FleetID.self) }
        let authors = try await services.users.cached(Set(authorIDs.map(\.rawValue)))
        let following = try await ViewerRelations.of(viewer, articles: [], authors: authorIDs, in: services.shards).following
        return try rows.compactMap { row in
            let authorID: FleetID = try row.decode(at: 4)
            guard let author = authors[authorID.rawValue] else { return nil }
            return Comment(
                id: try row.decode(at: 0), createdAt: Timestamp(milliseconds: try row.decode(at: 2)),
                updatedAt: Timestamp(milliseconds: try row.decode(at: 3)), body: try row.decode(at: 1),
                author: author.profile(following: following.contains(authorID)), authorID: authorID
            )
        }
    }

    public func add(slug: String, body: String?, author: FleetID) async throws -> Comment {
        var validator = Validator()
        let body = validator.required("body", body, maxLength: Rules.commentMaxLength)
        try validator.check()
        let articleID = try Self.articleID(slug)
        guard let user = try await services.users.cached([author.rawValue])[author.rawValue] else { throw APIError.invalidToken }
        // A comment lives on the article's shard, so it is found with the article.
        let id = services.ids.next(on: articleID.shard)
        let now = services.now()
        try await services.shards.node(for: articleID).transaction { db in
            let article = try await ArticleService.locate(slug, in: db)
            try await db.execute(
                """
                INSERT INTO comments (id, article_id, author_id, body, created_at, updated_at)
                VALUES (\(bind: id), \(bind: article.id), \(bind: author), \(bind: body), \(bind: now), \(bind: now))
                """
            )
        }
        return Comment(
            id: id, createdAt: Timestamp(milliseconds: now), updatedAt: Timestamp(milliseconds: now), body: body,
            author: user.profile(following: false), authorID: author
        )
    }

    public func delete(slug: String, commentID: String, by user: FleetID) async throws {
        guard let raw = Int64(commentID), raw > 0 else { throw APIError.notFound("comment") }
        try await services.shards.node(for: try Self.articleID(slug)).transaction { db in
            let article = try await ArticleService.locate(slug, in: db)
            guard let row = try await db.first(
                "SELECT author_id FROM comments WHERE id = \(bind: raw) AND article_id = \(bind: article.id)"
            ) else { throw APIError.notFound("comment") }
            guard try row.decode(at: 0, as: FleetID.self) == user else { throw APIError.forbidden("comment") }
            try await db.execute("DELETE FROM comments WHERE id = \(bind: raw)")
        }
    }

    /// The article id a slug carries, which routes to its shard; 404 when it has none.
    static func articleID(_ slug: String) throws -> FleetID {
        guard let id = Slug.id(in: slug) else { throw APIError.notFound("article") }
        return id
    }
}
