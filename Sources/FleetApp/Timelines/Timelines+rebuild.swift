import FleetData

extension Timelines {
    /// Rebuilds one user's timeline from what is true now: the user's follows and the
    /// followed authors' articles (what `fleet timelines rebuild --user` runs).
    func rebuild(_ user: FleetID) async throws {
        let home = shards.node(for: user)
        let followees: [Int64] = try await home.readLatest { db in
            try await db.query("SELECT followee_id FROM follows WHERE follower_id = \(bind: user)").map { try $0.decode(at: 0) }
        }
        try await home.transaction { db in
            try await db.execute("DELETE FROM timelines WHERE user_id = \(bind: user)")
            try await db.execute("UPDATE users SET timeline_size = 0 WHERE id = \(bind: user)")
            try await db.execute("UPDATE follows SET author_articles = 0, author_version = -1 WHERE follower_id = \(bind: user)")
        }
        for followee in followees {
            try await follow(Edge(kind: .follow, source: user.rawValue, target: followee), present: true)
        }
        try await trim(physical: shards.physical(for: user.shard))
    }

    /// Rebuilds every timeline, and the list of direct articles on every shard; reports
    /// progress as (users done, users in all).
    func rebuildAll(progress: @Sendable (Int, Int) -> Void) async throws {
        try await rebuildDirectArticles()
        var total = 0
        for node in shards.nodes {
            total += try await node.readLatest { db in try await db.first("SELECT COUNT(*) FROM users")?.decode(at: 0, as: Int.self) ?? 0 }
        }
        var done = 0
        for node in shards.nodes {
            var cursor = Int64.min
            while true {
                let after = cursor
                let users: [Int64] = try await node.readLatest { db in
                    try await db.query("SELECT id FROM users WHERE id > \(bind: after) ORDER BY id LIMIT 500").map { try $0.decode(at: 0) }
                }
                guard let last = users.last else { break }
                cursor = last
                for user in users {
                    try await rebuild(FleetID(rawValue: user))
                    done += 1
                    if done % 100 == 0 || done == total { progress(done, total) }
                }
            }
        }
    }

    /// Makes `direct_articles` on every shard list exactly the direct articles that exist.
    func rebuildDirectArticles() async throws {
        var direct: [(Int64, Int64)] = []
        for node in shards.nodes {
            direct += try await node.readLatest { db in
                try await db.query("SELECT id, author_id FROM articles WHERE fanned_out = 0").map { (try $0.decode(at: 0), try $0.decode(at: 1)) }
            }
        }
        let all = direct
        for node in shards.nodes {
            try await node.transaction { db in
                try await db.execute("DELETE FROM direct_articles")
                for chunk in stride(from: 0, to: all.count, by: 500) {
                    let rows = all[chunk..<min(chunk + 500, all.count)].map { "(\(bind: $0.0), \(bind: $0.1))" as SQLQuery }.joined(separator: ", ")
                    try await db.execute("INSERT INTO direct_articles (article_id, author_id) VALUES \(rows)")
                }
            }
        }
    }
}

extension ConduitServices {
    /// Rebuilds the timeline of the user with this name; false when there is none.
    public func rebuildTimeline(of username: String) async throws -> Bool {
        guard let id = try await profiles.userID(named: username) else { return false }
        try await timelines.rebuild(id)
        return true
    }

    /// Rebuilds every timeline and the direct articles list; reports (done, total).
    public func rebuildTimelines(progress: @Sendable (Int, Int) -> Void) async throws {
        try await timelines.rebuildAll(progress: progress)
    }
}
