import FleetLoad
import FleetSupport
import Foundation
import NIOHTTP1

/// Prepares the target for a run: signs up the load users (or signs them in, when a run
/// with the same id made them), has them follow each other with Zipf-popular users
/// followed most, and writes articles by Zipf-popular authors, so that feeds, profiles and
/// lists have something to show. Its writes go to the writes log like the run's.
struct LoadTestSetup {
    let context: LoadTestContext
    let users: Int
    let articles: Int
    let followsPerUser: Int

    private var client: LoadTestClient { context.client }

    func run() async throws -> LoadTestCatalog {
        let accounts = try await parallelMap(users, parallelism: 8) { index in try await signUp(index) }
        let userPopularity = Zipf(count: users, exponent: LoadTestCatalog.exponent)
        try await parallelMap(users, parallelism: 8) { index in
            var rng = SplitMix64(seed: context.seed &+ UInt64(index))
            var followees = Set<Int>()
            for _ in 0..<(min(followsPerUser, users - 1) * 3) where followees.count < min(followsPerUser, users - 1) {
                let followee = userPopularity.sample(using: &rng)
                if followee != index { followees.insert(followee) }
            }
            for followee in followees.sorted() {
                let profile = accounts[followee].username
                let answer = try await send(.POST, "/api/profiles/\(ConduitWorkload.escaped(profile))/follow", token: accounts[index].token)
                try require(answer, "follow \(profile)")
                context.acknowledge(AcknowledgedWrite(kind: .follow, user: accounts[index].username, email: accounts[index].email, profile: profile))
            }
        }
        let catalog = LoadTestCatalog(users: accounts, slugs: [])
        try await parallelMap(articles, parallelism: 8) { number in
            var rng = SplitMix64(seed: (context.seed ^ 0xA57) &+ UInt64(number))
            let author = accounts[userPopularity.sample(using: &rng)]
            let tags = Array(Set((0..<3).map { _ in catalog.popularTag(using: &rng) })).sorted()
            let title = "Setup \(context.runID) \(number)"
            let answer = try await send(
                .POST, "/api/articles",
                body: LoadTestPayload.Article(
                    article: LoadTestPayload.NewArticle(title: title, description: "Written before the run", body: ConduitWorkload.text(number), tagList: tags)
                ),
                token: author.token
            )
            try require(answer, "create article")
            guard let article = answer.decode(LoadTestPayload.Article<LoadTestPayload.ArticleView>.self)?.article else { throw LoadTestError(.setup, "create article: \(answer.text)") }
            context.acknowledge(AcknowledgedWrite(kind: .article, user: author.username, email: author.email, slug: article.slug, title: article.title))
            return article.slug
        }.forEach(catalog.add(slug:))
        return catalog
    }

    /// Signs user `index` up, or in when it exists (409 or 422 on sign-up).
    private func signUp(_ index: Int) async throws -> LoadUser {
        let username = "lt-\(context.runID)-\(index)"
        let email = "\(username)@load.fleet"
        let registration = try await send(
            .POST, "/api/users", body: LoadTestPayload.User(user: LoadTestPayload.Registration(username: username, email: email, password: context.password))
        )
        if let token = registration.decode(LoadTestPayload.User<LoadTestPayload.Token>.self)?.user.token {
            context.acknowledge(AcknowledgedWrite(kind: .user, user: username, email: email))
            return LoadUser(username: username, email: email, token: token)
        }
        guard registration.status == 409 || registration.status == 422 else {
            try require(registration, "sign up \(username)")
            throw LoadTestError(.setup, "sign up \(username): \(registration.text)")
        }
        let login = try await send(.POST, "/api/users/login", body: LoadTestPayload.login(email, context.password))
        guard let token = login.decode(LoadTestPayload.User<LoadTestPayload.Token>.self)?.user.token else {
            try require(login, "sign in \(username) (it exists)")
            throw LoadTestError(.setup, "sign in \(username): \(login.text)")
        }
        return LoadUser(username: username, email: email, token: token)
    }

    /// Sends, and again a second later while the target sheds load (503, which says the
    /// request was not carried out): the setup must finish even on a target at its limit.
    private func send(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = nil as Never?, token: String? = nil) async throws -> LoadTestClient.Answer {
        var answer = await client.send(method, path, body: body, token: token)
        for _ in 0..<10 where answer.status == 503 {
            try await Task.sleep(for: .seconds(1))
            answer = await client.send(method, path, body: body, token: token)
        }
        return answer
    }

    /// Throws unless the answer is a 2xx; a 429 says how to run the target for a load test.
    private func require(_ answer: LoadTestClient.Answer, _ what: String) throws {
        if case .success = answer.outcome { return }
        if answer.status == 429 {
            throw LoadTestError(.setup, "\(what): 429, the target rate-limits the load users; run it with --ratelimit-enabled false")
        }
        throw LoadTestError(.setup, "\(what): \(answer.text)")
    }
}
