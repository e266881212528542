public import FleetCache
import FleetData
public import Logging

/// What Conduit keeps in the cache: viewer-independent data only. Per-viewer bits
/// (following, favorited) are added per request by two indexed queries for a whole page.
///
/// | cache | key | invalidated by |
/// |---|---|---|
/// | `articles` | article id | its update, delete, favorite, unfavorite |
/// | `users` | user id | the user's update |
/// | `usernames` | lower-cased username → id | sign-up and renames (old and new name) |
/// | `tags` | `all` | article create, delete, tag changes |
/// | `lists` | filter + page → ids, count | article create, delete, tag changes, renames |
/// | `favoritedLists` | `favorited` filter + page | favorite, unfavorite, delete, renames |
///
/// A list page holds ids only; the articles and authors on it come from their own caches,
/// so a favorite changes one entry instead of every page showing the article.
public struct ConduitCaches: Sendable {
    let articles: Cache<CachedArticle>
    let users: Cache<CachedUser>
    let usernames: Cache<Int64>
    let tags: Cache<[String]>
    let lists: Cache<CachedPage>
    let favoritedLists: Cache<CachedPage>

    /// Whether other instances share these caches (through Redis): then an invalidation
    /// is committed as a job with the change, so a crash cannot skip it.
    let shared: Bool

    public init(policy: CachePolicy, bus: CacheBus?, logger: Logger) {
        shared = bus != nil && policy.enabled
        var lists = policy
        lists.maxEntries = max(1, policy.maxEntries / 10)
        articles = Cache(namespace: Namespace.article, policy: policy, bus: bus, logger: logger) { $0.weight }
        users = Cache(namespace: Namespace.user, policy: policy, bus: bus, logger: logger) { $0.weight }
        usernames = Cache(namespace: Namespace.username, policy: policy, bus: bus, logger: logger) { _ in 64 }
        tags = Cache(namespace: Namespace.tags, policy: policy, bus: bus, logger: logger) { $0.reduce(64) { $0 + $1.utf8.count + 16 } }
        self.lists = Cache(namespace: Namespace.list, policy: lists, bus: bus, logger: logger) { 64 + 8 * $0.ids.count }
        favoritedLists = Cache(namespace: Namespace.favoritedList, policy: lists, bus: bus, logger: logger) { 64 + 8 * $0.ids.count }
    }

    /// Each cache's namespace in Redis and in `CacheChange`, one name each.
    enum Namespace {
        static let article = "article"
        /// The namespace names the stored shape: entries of an older shape are never read.
        static let user = "user2"
        static let username = "username"
        static let tags = "tags"
        static let list = "list"
        static let favoritedList = "favlist"
    }

    /// After a user's own record changed.
    static func userChanged(_ id: FleetID, oldName: String?, newName: String?) -> [CacheChange] {
        var changes = [CacheChange(namespace: Namespace.user, key: id.key)]
        changes += Set([oldName, newName].compactMap { $0?.lowercased() }).sorted().map(usernameChanged)
        if let oldName, let newName, oldName.lowercased() != newName.lowercased() {
            // Pages filtered by author or favoriter name now match a different set.
            changes += [CacheChange(namespace: Namespace.list, key: nil), CacheChange(namespace: Namespace.favoritedList, key: nil)]
        }
        return changes
    }

    /// After an article was created or deleted, or its tags changed.
    static let articleSetChanged = [CacheChange(namespace: Namespace.list, key: nil), CacheChange(namespace: Namespace.tags, key: allTags)]

    /// After a username was taken or given up ("no such name" may be cached).
    static func usernameChanged(_ key: String) -> CacheChange {
        CacheChange(namespace: Namespace.username, key: key)
    }

    /// After an article's own row changed (an edit; its favorite count).
    static func articleChanged(_ id: FleetID) -> [CacheChange] {
        [CacheChange(namespace: Namespace.article, key: id.key)]
    }

    /// After a favorite came or went: the article's count and every `favorited=` page.
    static func favoritesChanged(_ id: FleetID) -> [CacheChange] {
        articleChanged(id) + [CacheChange(namespace: Namespace.favoritedList, key: nil)]
    }

    /// Drops what `changes` name, here, in L2 and on every instance.
    func apply(_ changes: [CacheChange]) async throws {
        // Every change is applied here even when one cannot be published; the first such
        // failure is thrown at the end, so that the caller publishes them again.
        var unpublished: (any Error)?
        for change in changes {
            do {
                switch change.namespace {
                case Namespace.article: try await drop(articles, change.key)
                case Namespace.user: try await drop(users, change.key)
                case Namespace.username: try await drop(usernames, change.key)
                case Namespace.tags: try await drop(tags, change.key)
                case Namespace.list: try await drop(lists, change.key)
                case Namespace.favoritedList: try await drop(favoritedLists, change.key)
                default: break  // a namespace of another version: nothing of it is cached here
                }
            } catch {
                unpublished = unpublished ?? error
            }
        }
        if let unpublished { throw unpublished }
    }

    private func drop<Value>(_ cache: Cache<Value>, _ key: String?) async throws {
        if let key { try await cache.invalidate(key) } else { try await cache.invalidateAll() }
    }

    static let allTags = "all"
}

extension FleetID {
    /// The id as a cache key.
    var key: String { String(rawValue) }
}

/// An article without viewer bits and without its author's profile (which has its own entry).
struct CachedArticle: Codable, Sendable {
    var id: Int64
    var slug: String
    var title: String
    var description: String
    var body: String
    var tagList: [String]
    var createdAt: Int64
    var updatedAt: Int64
    var favoritesCount: Int
    var authorID: Int64

    var weight: Int { 128 + slug.utf8.count + title.utf8.count + description.utf8.count + body.utf8.count + tagList.count * 24 }
}

/// A user's public profile, e-mail (for `GET /api/user`) and token version (which every
/// authenticated request checks); never the password hash.
struct CachedUser: Codable, Sendable {
    var id: Int64
    var username: String
    var email: String
    var bio: String?
    var image: String?
    var tokenVersion: Int64
    var tokenKeeper: String?

    init(_ record: UserRecord) {
        id = record.id.rawValue
        username = record.username
        email = record.email
        bio = record.bio
        image = record.image
        tokenVersion = record.tokenVersion
        tokenKeeper = record.tokenKeeper
    }

    func profile(following: Bool) -> Profile { Profile(username: username, bio: bio, image: image, following: following) }

    var weight: Int { 96 + username.utf8.count + email.utf8.count + (bio?.utf8.count ?? 0) + (image?.utf8.count ?? 0) }
}

/// One page of a list: the ids in order and the total count of the filter.
struct CachedPage: Codable, Sendable {
    var ids: [Int64]
    var count: Int
}

/// A cache entry (or a whole cache, without a key) that a committed change made stale.
struct CacheChange: Codable, Sendable, Hashable {
    var namespace: String
    var key: String?
}
