public import FleetData

/// A registered account, as stored.
public struct UserRecord: Sendable {
    public var id: FleetID
    public var username: String
    public var email: String
    public var passwordHash: String
    public var bio: String?
    public var image: String?
    /// Raised by every change of password or e-mail address: tokens carry the version
    /// they were issued at, and older ones are refused...
    public var tokenVersion: Int64
    /// ...but for the one token that made the change (its `jti`), if any.
    public var tokenKeeper: String?
}

/// The public face of a user, as a given viewer sees it.
public struct Profile: Sendable {
    public var username: String
    public var bio: String?
    public var image: String?
    public var following: Bool
}

/// The authenticated user, with a token.
public struct AuthenticatedUser: Sendable {
    /// Not shown to clients (they name users by username).
    public var id: FleetID
    public var email: String
    public var token: String
    public var username: String
    public var bio: String?
    public var image: String?
}

/// An article as a viewer sees it. `body` is nil in lists, where Conduit omits it.
public struct Article: Sendable {
    public var id: FleetID
    public var slug: String
    public var title: String
    public var description: String
    public var body: String?
    public var tagList: [String]
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var favorited: Bool
    public var favoritesCount: Int
    public var author: Profile
    var authorID: FleetID

}

/// A comment as a viewer sees it.
public struct Comment: Sendable {
    /// The comment's number within its article (see `CommentService`).
    public var id: Int64
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var body: String
    public var author: Profile
    var authorID: FleetID
}

/// A page of articles and the total number that match.
public struct ArticlePage: Sendable {
    public var articles: [Article]
    public var articlesCount: Int
    /// Physical shards whose part is missing (they were down and the list was answered
    /// from the others); empty for a complete page.
    public var missingShards: [Int] = []
}

/// What selects articles for a list; all filters combine with AND.
public struct ArticleFilter: Sendable, Equatable {
    public var tag: String?
    public var author: String?
    public var favoritedBy: String?
    /// Articles by the users this user follows (the feed).
    public var followedBy: FleetID?
    public var limit: Int = 20
    public var offset: Int = 0

    public init(tag: String? = nil, author: String? = nil, favoritedBy: String? = nil, followedBy: FleetID? = nil, limit: Int = 20, offset: Int = 0) {
        self.tag = tag
        self.author = author
        self.favoritedBy = favoritedBy
        self.followedBy = followedBy
        self.limit = limit
        self.offset = offset
    }
}
