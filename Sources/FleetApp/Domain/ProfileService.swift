public import FleetData
import FleetHTTP

/// Profiles and the follow graph.
public struct ProfileService: Sendable {
    let services: ConduitServices

    public func profile(_ username: String, viewer: FleetID?) async throws -> Profile {
        let database = services.database
        let key = username.lowercased()
        guard username.count <= Rules.usernameMaxLength,
            let id = try await services.caches.usernames.get(key, load: {
                try await database.readLatest { db in try await db.first("SELECT id FROM users WHERE username_key = \(bind: key)")?.decode(at: 0) }
            }),
            let user = try await services.users.cached([id])[id]
        else { throw APIError.notFound("profile") }
        let following = try await ArticleService.relations(of: viewer, articles: [], authors: [FleetID(rawValue: id)], in: database).following
        return user.profile(following: following.contains(FleetID(rawValue: id)))
    }

    public func follow(_ username: String, by follower: FleetID) async throws -> Profile {
        let now = services.now()
        return try await services.database.transaction { db in
            let user = try await Self.target(username, in: db)
            guard user.id != follower else { throw APIError(.unprocessableContent, field: "profile", "cannot follow yourself") }
            try await db.execute(
                "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (\(bind: follower), \(bind: user.id), \(bind: now)) ON CONFLICT DO NOTHING"
            )
            return Profile(username: user.username, bio: user.bio, image: user.image, following: true)
        }
    }

    public func unfollow(_ username: String, by follower: FleetID) async throws -> Profile {
        try await services.database.transaction { db in
            let user = try await Self.target(username, in: db)
            try await db.execute("DELETE FROM follows WHERE follower_id = \(bind: follower) AND followee_id = \(bind: user.id)")
            return Profile(username: user.username, bio: user.bio, image: user.image, following: false)
        }
    }

    static func target(_ username: String, in db: any SQLExecutor) async throws -> UserRecord {
        guard username.count <= Rules.usernameMaxLength,
            let user = try await UserService.user(where: "username_key = \(bind: username.lowercased())", in: db)
        else { throw APIError.notFound("profile") }
        return user
    }
}
