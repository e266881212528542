import FleetLoad
import FleetSupport
import Foundation

/// The Conduit mix as a `LoadWorkload`: each request's operation is drawn from the mix,
/// its subject (article, user, tag) by Zipf popularity, from a generator seeded with the
/// run's seed and the request's number, so two runs with one seed send the same requests.
/// Every write acknowledged with a 2xx is appended to the writes log.
struct ConduitWorkload: LoadWorkload {
    let context: LoadTestContext
    let catalog: LoadTestCatalog
    let mix: LoadTestMix

    private var client: LoadTestClient { context.client }

    func pick(_ sequence: Int) -> String {
        var rng = random(sequence, stream: 1)
        return mix.pick(using: &rng).rawValue
    }

    func perform(_ name: String, sequence: Int) async -> RequestOutcome {
        var rng = random(sequence, stream: 2)
        guard let operation = ConduitOperation(rawValue: name) else { return .failure("unknown operation") }
        // Half the reads are signed in: a viewer changes what the API computes (following,
        // favorited), and which caches answer.
        let actor = catalog.anyUser(using: &rng)
        let viewer = Bool.random(using: &rng) ? catalog.users[actor].token : nil
        let slug = catalog.popularSlug(using: &rng)
        switch operation {
        case .list:
            let query: String
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: query = "limit=20"
            case 1: query = "tag=\(catalog.popularTag(using: &rng))&limit=20"
            default: query = "author=\(Self.escaped(catalog.users[catalog.popularUser(using: &rng)].username))&limit=20"
            }
            return await client.send(.GET, "/api/articles?\(query)", token: viewer).outcome
        case .article:
            guard let slug else { return .failure("no article") }
            return await client.send(.GET, "/api/articles/\(Self.escaped(slug))", token: viewer).outcome
        case .comments:
            guard let slug else { return .failure("no article") }
            return await client.send(.GET, "/api/articles/\(Self.escaped(slug))/comments", token: viewer).outcome
        case .feed:
            return await client.send(.GET, "/api/articles/feed?limit=20", token: catalog.users[actor].token).outcome
        case .recommended:
            return await client.send(.GET, "/api/articles/recommended?limit=10", token: catalog.users[actor].token).outcome
        case .profile:
            let username = catalog.users[catalog.popularUser(using: &rng)].username
            return await client.send(.GET, "/api/profiles/\(Self.escaped(username))", token: viewer).outcome
        case .tags:
            return await client.send(.GET, "/api/tags").outcome
        case .createArticle:
            return await createArticle(by: actor, number: sequence, using: &rng)
        case .comment:
            guard let slug else { return .failure("no article") }
            return await comment(on: slug, by: actor, number: sequence)
        case .favorite:
            return await favorite(by: actor, using: &rng)
        case .follow:
            return await follow(by: actor, using: &rng)
        case .signin:
            let user = catalog.users[actor]
            return await client.send(.POST, "/api/users/login", body: LoadTestPayload.login(user.email, context.password)).outcome
        }
    }

    private func createArticle(by actor: Int, number: Int, using rng: inout SplitMix64) async -> RequestOutcome {
        let user = catalog.users[actor]
        let tags = Array(Set((0..<Int.random(in: 1...3, using: &rng)).map { _ in catalog.popularTag(using: &rng) })).sorted()
        let title = "Load \(context.runID) \(number)"
        let answer = await client.send(
            .POST, "/api/articles",
            body: LoadTestPayload.Article(article: LoadTestPayload.NewArticle(title: title, description: "A load test article", body: Self.text(number), tagList: tags)),
            token: user.token, key: "\(context.runID)-article-\(number)"
        )
        let article = answer.decode(LoadTestPayload.Article<LoadTestPayload.ArticleView>.self)?.article
        if let article {
            context.acknowledge(AcknowledgedWrite(kind: .article, user: user.username, email: user.email, slug: article.slug, title: article.title))
            catalog.add(slug: article.slug)
        }
        return Self.checked(answer, decoded: article != nil)
    }

    private func comment(on slug: String, by actor: Int, number: Int) async -> RequestOutcome {
        let user = catalog.users[actor]
        let body = "Comment \(context.runID) \(number)"
        let answer = await client.send(
            .POST, "/api/articles/\(Self.escaped(slug))/comments", body: LoadTestPayload.Comment(comment: LoadTestPayload.CommentText(body: body)), token: user.token,
            key: "\(context.runID)-comment-\(number)"
        )
        let comment = answer.decode(LoadTestPayload.Comment<LoadTestPayload.CommentView>.self)?.comment
        if let comment {
            context.acknowledge(AcknowledgedWrite(kind: .comment, user: user.username, email: user.email, slug: slug, commentID: comment.id, body: comment.body))
        }
        return Self.checked(answer, decoded: comment != nil)
    }

    /// Favorites a popular article the user has not favorited, or unfavorites one it has:
    /// never a request that would change nothing. Another request changing the same pair
    /// makes it look at the next articles.
    private func favorite(by actor: Int, using rng: inout SplitMix64) async -> RequestOutcome {
        let user = catalog.users[actor]
        for _ in 0..<8 {
            guard let slug = catalog.popularSlug(using: &rng) else { return .failure("no article") }
            guard let favorite = catalog.claimFavorite(user: actor, slug: slug) else { continue }
            let answer = await client.send(favorite ? .POST : .DELETE, "/api/articles/\(Self.escaped(slug))/favorite", token: user.token)
            if let article = answer.decode(LoadTestPayload.Article<LoadTestPayload.ArticleView>.self)?.article, article.favorited == favorite {
                catalog.settleFavorite(user: actor, slug: slug, favorited: favorite)
                context.acknowledge(AcknowledgedWrite(kind: .favorite, user: user.username, email: user.email, slug: slug, favorited: favorite))
                return .success
            }
            catalog.settleFavorite(user: actor, slug: slug, favorited: nil)
            context.acknowledge(AcknowledgedWrite(kind: .favoriteUnsettled, user: user.username, email: user.email, slug: slug))
            return Self.checked(answer, decoded: false)
        }
        return .failure("favorite busy")
    }

    private func follow(by actor: Int, using rng: inout SplitMix64) async -> RequestOutcome {
        guard catalog.users.count > 1 else { return .failure("no one to follow") }
        let user = catalog.users[actor]
        var followee = catalog.popularUser(using: &rng)
        // Following oneself is refused (422): take the next user instead.
        if followee == actor { followee = (followee + 1) % catalog.users.count }
        let profile = catalog.users[followee].username
        let answer = await client.send(.POST, "/api/profiles/\(Self.escaped(profile))/follow", token: user.token)
        let followed = answer.decode(LoadTestPayload.Profile<LoadTestPayload.ProfileView>.self)?.profile.following == true
        if followed { context.acknowledge(AcknowledgedWrite(kind: .follow, user: user.username, email: user.email, profile: profile)) }
        return Self.checked(answer, decoded: followed)
    }

    /// A 2xx whose body is not what the API promises is an error too.
    static func checked(_ answer: LoadTestClient.Answer, decoded: Bool) -> RequestOutcome {
        if case .success = answer.outcome, !decoded { return .failure("bad body") }
        return answer.outcome
    }

    private func random(_ sequence: Int, stream: UInt64) -> SplitMix64 {
        SplitMix64(seed: context.seed ^ (UInt64(truncatingIfNeeded: sequence) &* 0xD1B5_4A32_D192_ED03) ^ (stream &* 0x9E37_79B9_7F4A_7C15))
    }

    static func escaped(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?&="))) ?? component
    }

    static func text(_ number: Int) -> String {
        "Paragraph \(number). Fleet serves this article to a load test that reads, favorites and comments on it, "
            + "to measure how the API holds up when a post goes viral."
    }
}
