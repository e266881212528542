public import FleetData

/// Profiles and the follow graph. A follow is written on the follower's shard, which is
/// where the feed and the `following` bits read it; the followee's shard gets a mirror
/// through `EdgeRelay`.
public struct ProfileService: Sendable {
    let services: ConduitServices

    public func profile(_ username: String, viewer: FleetID?) async throws -> Profile {
        guard let id = try await userID(named: username), let user = try await services.users.cached([id.rawValue])[id.rawValue],
            user.username.lowercased() == username.lowercased()
        else { throw ConduitError.notFound("profile") }
        let following = try await ViewerRelations.of(viewer, articles: [], authors: [id], in: services.shards).following
        return user.profile(following: following.contains(id))
    }

    /// The id of the user with this name, through the username cache. Text that cannot be
    /// a username (too long, NUL, other characters) names nobody, without a lookup.
    func userID(named username: String) async throws -> FleetID? {
        guard Rules.isUsername(username) else { return nil }
        let directory = services.directory
        let key = username.lowercased()
        return try await services.caches.usernames.get(key) { try await directory.user(.username, key)?.rawValue }.map(FleetID.init(rawValue:))
    }

    public func follow(_ username: String, by follower: FleetID) async throws -> Profile {
        try await change(username, by: follower, following: true)
    }

    public func unfollow(_ username: String, by follower: FleetID) async throws -> Profile {
        try await change(username, by: follower, following: false)
    }

    private func change(_ username: String, by follower: FleetID, following: Bool) async throws -> Profile {
        let user = try await target(username)
        if following, user.id == follower { throw ConduitError(.invalid, field: "profile", "cannot follow yourself") }
        let now = services.now()
        let edge = Edge(kind: .follow, source: follower.rawValue, target: user.id.rawValue)
        let edges = services.edges
        let queued = try await services.shards.node(for: follower).transaction { db in
            let changed = following
                ? try await db.query(
                    """
                    INSERT INTO follows (follower_id, followee_id, created_at) VALUES (\(bind: follower), \(bind: user.id), \(bind: now))
                    ON CONFLICT DO NOTHING RETURNING followee_id
                    """
                )
                : try await db.query("DELETE FROM follows WHERE follower_id = \(bind: follower) AND followee_id = \(bind: user.id) RETURNING followee_id")
            return changed.isEmpty ? nil : try await edges.enqueue(edge, owner: follower, now: now, in: db)
        }
        await services.deliver(queued)
        return Profile(username: user.username, bio: user.bio, image: user.image, following: following)
    }

    /// The user a follow names, from its own shard's latest state, or 404.
    private func target(_ username: String) async throws -> UserRecord {
        guard Rules.isUsername(username), let id = try await services.directory.user(.username, username.lowercased()),
            let user = try await services.shards.node(for: id).readLatest({ db in try await UserService.user(where: "id = \(bind: id)", in: db) })
        else { throw ConduitError.notFound("profile") }
        return user
    }
}
