/// What `fleet loadtest verify` checks, worked out from a writes file: one check per
/// user, article and follow; the comments of an article in one check; and per (user,
/// article) the last acknowledged favorite state, unless a later change got no answer.
struct VerifyPlan {
    enum Check: CustomStringConvertible {
        case user(String)
        case article(slug: String, title: String)
        case comments(slug: String, [(id: Int64, body: String)])
        case favorite(user: String, email: String, slug: String, favorited: Bool)
        case follow(user: String, email: String, profile: String)

        var description: String {
            switch self {
            case .user(let username): "user \(username)"
            case .article(let slug, _): "article \(slug)"
            case .comments(let slug, let comments): "\(comments.count) comments on \(slug)"
            case .favorite(let user, _, let slug, let favorited): "\(user) \(favorited ? "favorited" : "unfavorited") \(slug)"
            case .follow(let user, _, let profile): "\(user) follows \(profile)"
            }
        }
    }

    enum Result: CustomStringConvertible {
        case present
        /// The API answered, and the write is not there.
        case lost(String)
        /// No usable answer (after retries): neither present nor lost.
        case unchecked(String)

        var description: String {
            switch self {
            case .present: "present"
            case .lost(let what): "LOST \(what)"
            case .unchecked(let why): "UNCHECKED \(why)"
            }
        }
    }

    private(set) var checks: [Check] = []
    /// The e-mails of users whose view some check needs, once each.
    private(set) var viewers: [String] = []
    let writes: Int
    private(set) var unsettled = 0

    init(_ writes: [AcknowledgedWrite]) {
        self.writes = writes.count
        var comments: [String: [(id: Int64, body: String)]] = [:]
        var commentOrder: [String] = []
        var favorites: [String: (write: AcknowledgedWrite, settled: Bool)] = [:]
        var favoriteOrder: [String] = []
        var follows = Set<String>()
        var viewers = Set<String>()
        for write in writes {
            switch write.kind {
            case .user:
                checks.append(.user(write.user))
            case .article:
                if let slug = write.slug, let title = write.title { checks.append(.article(slug: slug, title: title)) }
            case .comment:
                guard let slug = write.slug, let id = write.commentID else { continue }
                if comments[slug] == nil { commentOrder.append(slug) }
                comments[slug, default: []].append((id, write.body ?? ""))
            case .favorite, .favoriteUnsettled:
                guard let slug = write.slug else { continue }
                let key = write.user + "\u{0}" + slug
                if favorites[key] == nil { favoriteOrder.append(key) }
                favorites[key] = (write, write.kind == .favorite && write.favorited != nil)
            case .follow:
                guard let profile = write.profile, let email = write.email, follows.insert(write.user + "\u{0}" + profile).inserted else { continue }
                checks.append(.follow(user: write.user, email: email, profile: profile))
                viewers.insert(email)
            }
        }
        for slug in commentOrder { checks.append(.comments(slug: slug, comments[slug] ?? [])) }
        for key in favoriteOrder {
            guard let entry = favorites[key], entry.settled, let slug = entry.write.slug, let email = entry.write.email, let favorited = entry.write.favorited else {
                unsettled += 1
                continue
            }
            checks.append(.favorite(user: entry.write.user, email: email, slug: slug, favorited: favorited))
            viewers.insert(email)
        }
        self.viewers = viewers.sorted()
    }

    /// A 2xx that shows the write is present; a 2xx without it, or a 404, is lost; anything
    /// else could not be checked.
    static func judge(_ check: Check, _ answer: LoadTestClient.Answer, present: Bool) -> Result {
        switch answer.outcome {
        case .success: present ? .present : .lost(check.description)
        case _ where answer.status == 404: .lost("\(check) (404)")
        default: .unchecked("\(check): \(answer.text)")
        }
    }
}
