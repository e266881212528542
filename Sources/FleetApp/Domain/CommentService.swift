public import FleetData
import FleetHTTP

/// Comments on articles.
public struct CommentService: Sendable {
    let services: ConduitServices

    public func list(slug: String, viewer: FleetID?) async throws -> [Comment] {
        try await services.database.read { db in
            let article = try await ArticleService.locate(slug, in: db)
            let rows = try await db.query(
                """
                SELECT c.id, c.body, c.created_at, c.updated_at, c.author_id, u.username, u.bio, u.image
                FROM comments c JOIN users u ON u.id = c.author_id
                WHERE c.article_id = \(bind: article.id)
                ORDER BY c.id DESC
                """
            )
            var comments = try rows.map(Self.comment(from:))
            let following = try await ViewerRelations.followed(by: viewer, among: comments.map(\.authorID), in: db)
            for index in comments.indices { comments[index].author.following = following.contains(comments[index].authorID) }
            return comments
        }
    }

    public func add(slug: String, body: String?, author: FleetID) async throws -> Comment {
        var validator = Validator()
        let body = validator.required("body", body, maxLength: Rules.commentMaxLength)
        try validator.check()
        // A write: the article may be newer than any replica.
        let article = try await services.database.readLatest { db in try await ArticleService.locate(slug, in: db) }
        // A comment lives on the article's shard, so it is found with the article.
        let id = services.ids.next(on: article.id.shard)
        let now = services.now()
        return try await services.database.transaction { db in
            _ = try await ArticleService.locate(slug, in: db)  // still there
            guard let user = try await UserService.user(where: "id = \(bind: author)", in: db) else { throw APIError.invalidToken }
            try await db.execute(
                """
                INSERT INTO comments (id, article_id, author_id, body, created_at, updated_at)
                VALUES (\(bind: id), \(bind: article.id), \(bind: author), \(bind: body), \(bind: now), \(bind: now))
                """
            )
            return Comment(
                id: id, createdAt: Timestamp(milliseconds: now), updatedAt: Timestamp(milliseconds: now), body: body,
                author: Profile(username: user.username, bio: user.bio, image: user.image, following: false), authorID: author
            )
        }
    }

    public func delete(slug: String, commentID: String, by user: FleetID) async throws {
        guard let raw = Int64(commentID), raw > 0 else { throw APIError.notFound("comment") }
        try await services.database.transaction { db in
            let article = try await ArticleService.locate(slug, in: db)
            guard let row = try await db.first(
                "SELECT author_id FROM comments WHERE id = \(bind: raw) AND article_id = \(bind: article.id)"
            ) else { throw APIError.notFound("comment") }
            guard try row.decode(at: 0, as: FleetID.self) == user else { throw APIError.forbidden("comment") }
            try await db.execute("DELETE FROM comments WHERE id = \(bind: raw)")
        }
    }

    static func comment(from row: SQLRow) throws -> Comment {
        Comment(
            id: try row.decode(at: 0), createdAt: Timestamp(milliseconds: try row.decode(at: 2)),
            updatedAt: Timestamp(milliseconds: try row.decode(at: 3)), body: try row.decode(at: 1),
            author: Profile(username: try row.decode(at: 5), bio: try row.decode(at: 6), image: try row.decode(at: 7), following: false),
            authorID: try row.decode(at: 4)
        )
    }
}
