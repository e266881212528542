import FleetCache
import FleetData
import Logging

/// What readers get when there is no personal recommendation: the articles most
/// favorited in the last 7 days. Favorites live on their users' shards, so every shard
/// counts its own (its top 100) and the counts are summed.
///
/// Cached in process for 30 s (an L1-only `Cache`): when the recommender is down, every
/// reader of every instance lands here, and the databases must not pay a scan per
/// request for it. One load at a time; a failed reload serves the previous list (the
/// cache's fail-safe) rather than an error.
final class PopularArticles: Sendable {
    /// Favorites younger than this count (milliseconds).
    static let period: Int64 = 7 * 24 * 3600 * 1000
    /// The longest list kept: the API's largest page.
    static let size = Rules.maxLimit

    private let cache: Cache<[Int64]>

    init(logger: Logger) {
        cache = Cache(namespace: "popular", policy: CachePolicy(ttl: .seconds(30), maxEntries: 1), bus: nil, logger: logger) { 64 + 8 * $0.count }
    }

    /// Article ids, most favorited first (`now` in milliseconds).
    func ids(in shards: Shards, now: Int64) async throws -> [Int64] {
        try await cache.get("recent") { try await Self.load(from: shards, since: now - Self.period) } ?? []
    }

    static func load(from shards: Shards, since: Int64) async throws -> [Int64] {
        let perShard = try await shards.scatter { _, node in
            try await node.read { db in
                try await db.query(
                    """
                    SELECT article_id, COUNT(*) FROM favorites WHERE created_at >= \(bind: since)
                    GROUP BY article_id ORDER BY COUNT(*) DESC, article_id DESC LIMIT \(bind: size)
                    """
                ).map { (try $0.decode(at: 0, as: Int64.self), try $0.decode(at: 1, as: Int.self)) }
            }
        }
        let counts = Dictionary(perShard.joined().map { ($0.0, $0.1) }, uniquingKeysWith: +)
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key > $1.key }.prefix(size).map(\.key)
    }
}
