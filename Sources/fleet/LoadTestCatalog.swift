import FleetSupport
import Synchronization

/// A load user: signed up (or signed in) during setup, with its token.
struct LoadUser: Sendable {
    let username: String
    let email: String
    let token: String
}

/// What the load test knows of the target's data: its users, the articles it can read
/// (those of the setup and those written since) and, per user, which articles it has
/// favorited, so the mix never sends a write the API would refuse or that would do nothing.
///
/// Popularity is Zipf (s = 1.1) by rank: the first users and articles get most of the
/// reads, follows and favorites, as on a real site.
final class LoadTestCatalog: Sendable {
    static let exponent = 1.1
    static let tags = ["swift", "databases", "scaling", "design", "testing", "ops", "rust", "go", "web", "music", "travel", "food"]

    /// Whether a favorite (user, slug) is known to be set, is being changed, or is unknown
    /// because a change got no answer (then it is left alone).
    enum FavoriteState: Sendable {
        case set
        case changing
        case unknown
    }

    private struct Articles {
        var slugs: [String]
        var popularity: Zipf?
    }

    private struct FavoriteKey: Hashable {
        let user: Int
        let slug: String
    }

    let users: [LoadUser]
    let userPopularity: Zipf
    let tagPopularity = Zipf(count: LoadTestCatalog.tags.count, exponent: LoadTestCatalog.exponent)
    private let articles: Mutex<Articles>
    private let favorites = Mutex<[FavoriteKey: FavoriteState]>([:])

    init(users: [LoadUser], slugs: [String]) {
        precondition(!users.isEmpty)
        self.users = users
        userPopularity = Zipf(count: users.count, exponent: Self.exponent)
        articles = Mutex(Articles(slugs: slugs, popularity: slugs.isEmpty ? nil : Zipf(count: slugs.count, exponent: Self.exponent)))
    }

    var articleCount: Int { articles.withLock { $0.slugs.count } }

    /// A user index, Zipf-popular (whom to read, follow).
    func popularUser(using rng: inout some RandomNumberGenerator) -> Int {
        userPopularity.sample(using: &rng)
    }

    /// Any user index, uniformly (who acts).
    func anyUser(using rng: inout some RandomNumberGenerator) -> Int {
        Int.random(in: 0..<users.count, using: &rng)
    }

    func popularTag(using rng: inout some RandomNumberGenerator) -> String {
        Self.tags[tagPopularity.sample(using: &rng)]
    }

    /// A Zipf-popular article; nil before any exists.
    func popularSlug(using rng: inout some RandomNumberGenerator) -> String? {
        articles.withLock { articles in
            guard let popularity = articles.popularity else { return nil }
            return articles.slugs[popularity.sample(using: &rng)]
        }
    }

    /// A new article joins the readable ones (at the least popular rank). The popularity
    /// table is rebuilt when the list has grown by a quarter, not on every article.
    func add(slug: String) {
        articles.withLock { articles in
            articles.slugs.append(slug)
            let ranked = articles.popularity?.count ?? 0
            if articles.slugs.count >= max(ranked + 1, ranked * 5 / 4) {
                articles.popularity = Zipf(count: articles.slugs.count, exponent: Self.exponent)
            }
        }
    }

    /// Claims (user, slug) for a favorite change: true to favorite, false to unfavorite; nil
    /// when another request is changing it or its state is unknown.
    func claimFavorite(user: Int, slug: String) -> Bool? {
        favorites.withLock { favorites in
            let key = FavoriteKey(user: user, slug: slug)
            switch favorites[key] {
            case .changing, .unknown: return nil
            case .set:
                favorites[key] = .changing
                return false
            case nil:
                favorites[key] = .changing
                return true
            }
        }
    }

    /// Ends a claim: the favorite is now set (true), removed (false) or unknown (nil).
    func settleFavorite(user: Int, slug: String, favorited: Bool?) {
        favorites.withLock { favorites in
            let key = FavoriteKey(user: user, slug: slug)
            switch favorited {
            case true?: favorites[key] = .set
            case false?: favorites[key] = nil
            case nil: favorites[key] = .unknown
            }
        }
    }
}
