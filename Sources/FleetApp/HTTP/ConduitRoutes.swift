import FleetData
import FleetHTTP
public import Hummingbird

/// The nineteen operations of the Conduit API, under `/api`, each declared with its
/// rate-limit class (`RateLimits`).
///
/// Handlers only translate between HTTP and the services: parse, call, wrap.
public struct ConduitRoutes: Sendable {
    let services: ConduitServices
    /// Nil when rate limiting is off.
    let limits: RateLimits?

    init(services: ConduitServices, limits: RateLimits?) {
        self.services = services
        self.limits = limits
    }

    /// The routes of each class: a group per class, so the class goes with the route
    /// that matched.
    struct Classes {
        let auth: RouterGroup<ConduitContext>
        let write: RouterGroup<ConduitContext>
        let read: RouterGroup<ConduitContext>
    }

    public func add(to api: RouterGroup<ConduitContext>) {
        func group(_ limit: RateLimitMiddleware<ConduitContext>?) -> RouterGroup<ConduitContext> {
            let group = api.group()
            if let limit { group.add(middleware: limit) }
            return group
        }
        let classes = Classes(auth: group(limits?.auth), write: group(limits?.write), read: group(limits?.read))
        addUsers(classes)
        addProfiles(classes)
        addArticles(classes)
        addComments(classes)
        addRecommendations(classes)
        classes.read.get("tags") { _, _ in JSONEnvelope("tags", try await services.articles.tags()) }
    }

    func addUsers(_ routes: Classes) {
        let users = services.users
        routes.auth.post("users/login") { request, context in
            let input = try await request.decodeJSON(as: UserEnvelope<LoginInput>.self, context: context).user
            return JSONEnvelope("user", try await users.login(email: input.email, password: input.password))
        }
        routes.auth.post("users") { request, context in
            let input = try await request.decodeJSON(as: UserEnvelope<RegistrationInput>.self, context: context).user
            let user = try await users.register(username: input.username, email: input.email, password: input.password)
            return EditedResponse(status: .created, response: JSONEnvelope("user", user))
        }
        routes.read.get("user") { _, context in
            let (credentials, account) = try context.requireAccount()
            return JSONEnvelope("user", users.current(credentials, account: account))
        }
        let auth = limits?.auth
        routes.write.put("user") { request, context in
            let credentials = try context.requireCredentials()
            let input = try await request.decodeJSON(as: UserEnvelope<UserUpdateInput>.self, context: context).user
            // A password change is a guess at the current session's worth: `auth` too.
            if !input.update.password.isAbsent, let auth { _ = try await auth.admit(request, context: context) }
            return JSONEnvelope("user", try await users.update(credentials, with: input.update))
        }
    }

    func addProfiles(_ routes: Classes) {
        let profiles = services.profiles
        routes.read.get("profiles/:username") { _, context in
            JSONEnvelope("profile", try await profiles.profile(try context.parameters.require("username"), viewer: context.viewer))
        }
        routes.write.post("profiles/:username/follow") { _, context in
            let viewer = try context.requireViewer()
            return JSONEnvelope("profile", try await profiles.follow(try context.parameters.require("username"), by: viewer))
        }
        routes.write.delete("profiles/:username/follow") { _, context in
            let viewer = try context.requireViewer()
            return JSONEnvelope("profile", try await profiles.unfollow(try context.parameters.require("username"), by: viewer))
        }
    }

    func addArticles(_ routes: Classes) {
        let articles = services.articles
        routes.read.get("articles") { request, context in
            ArticlesResponse(page: try await articles.list(try PageParameters.filter(from: request, filters: true), viewer: context.viewer))
        }
        routes.read.get("articles/feed") { request, context in
            let viewer = try context.requireViewer()
            var filter = try PageParameters.filter(from: request, filters: false)
            filter.followedBy = viewer
            return ArticlesResponse(page: try await articles.list(filter, viewer: viewer))
        }
        routes.read.get("articles/:slug") { _, context in
            JSONEnvelope("article", try await articles.article(try context.parameters.require("slug"), viewer: context.viewer))
        }
        routes.write.post("articles") { request, context in
            let viewer = try context.requireViewer()
            let key = try IdempotencyKey.of(request)
            let input = try await request.decodeJSON(as: ArticleEnvelope<NewArticleInput>.self, context: context).article
            let article = try await articles.create(
                title: input.title, description: input.description, body: input.body, tagList: input.tagList, author: viewer, key: key
            )
            return EditedResponse(status: .created, response: JSONEnvelope("article", article))
        }
        routes.write.put("articles/:slug") { request, context in
            let viewer = try context.requireViewer()
            let slug = try context.parameters.require("slug")
            let input = try await request.decodeJSON(as: ArticleEnvelope<ArticleUpdateInput>.self, context: context).article
            return JSONEnvelope("article", try await articles.update(slug, with: input.update, by: viewer))
        }
        routes.write.delete("articles/:slug") { _, context in
            let viewer = try context.requireViewer()
            try await articles.delete(try context.parameters.require("slug"), by: viewer)
            return HTTPResponse.Status.noContent
        }
        routes.write.post("articles/:slug/favorite") { _, context in
            let viewer = try context.requireViewer()
            return JSONEnvelope("article", try await articles.favorite(try context.parameters.require("slug"), by: viewer))
        }
        routes.write.delete("articles/:slug/favorite") { _, context in
            let viewer = try context.requireViewer()
            return JSONEnvelope("article", try await articles.unfavorite(try context.parameters.require("slug"), by: viewer))
        }
    }

    func addComments(_ routes: Classes) {
        let comments = services.comments
        routes.read.get("articles/:slug/comments") { request, context in
            let (limit, offset) = try PageParameters.comments(from: request)
            return JSONEnvelope("comments", try await comments.list(slug: try context.parameters.require("slug"), viewer: context.viewer, limit: limit, offset: offset))
        }
        routes.write.post("articles/:slug/comments") { request, context in
            let viewer = try context.requireViewer()
            let slug = try context.parameters.require("slug")
            let key = try IdempotencyKey.of(request)
            let input = try await request.decodeJSON(as: CommentEnvelope<NewCommentInput>.self, context: context).comment
            let comment = try await comments.add(slug: slug, body: input.body, author: viewer, key: key)
            return EditedResponse(status: .created, response: JSONEnvelope("comment", comment))
        }
        routes.write.delete("articles/:slug/comments/:id") { _, context in
            let viewer = try context.requireViewer()
            try await comments.delete(
                slug: try context.parameters.require("slug"), commentID: try context.parameters.require("id"), by: viewer
            )
            return HTTPResponse.Status.noContent
        }
    }
}

/// The query of a list: `limit`, `offset` and (for `/api/articles`) the filters, checked
/// together, so that every bad value is named in one 422.
enum PageParameters {
    static func filter(from request: Request, filters: Bool) throws -> ArticleFilter {
        var validator = Validator()
        let (limit, offset) = window(request, defaultLimit: 20, into: &validator)
        var filter = ArticleFilter(limit: limit, offset: offset)
        if filters {
            let query = request.uri.queryParameters
            filter.tag = Rules.filter("tag", query.get("tag"), into: &validator)
            filter.author = Rules.filter("author", query.get("author"), into: &validator)
            filter.favoritedBy = Rules.filter("favorited", query.get("favorited"), into: &validator)
        }
        try validator.check()
        return filter
    }

    /// An article's comments: the spec has no paging and returns them all, which a browser
    /// front end shows; by default the newest `Rules.maxLimit` (every comment of all but the
    /// busiest threads), and `limit` and `offset` page further, as for articles.
    static func comments(from request: Request) throws -> (limit: Int, offset: Int) {
        var validator = Validator()
        let window = window(request, defaultLimit: Rules.maxLimit, into: &validator)
        try validator.check()
        return window
    }

    private static func window(_ request: Request, defaultLimit: Int, into validator: inout Validator) -> (limit: Int, offset: Int) {
        (
            parse("limit", request, default: defaultLimit, range: 1...Rules.maxLimit, into: &validator),
            parse("offset", request, default: 0, range: 0...Rules.maxOffset, into: &validator)
        )
    }

    static func parse(_ name: String, _ request: Request, default value: Int, range: ClosedRange<Int>, into validator: inout Validator) -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            validator.add(name, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
            return value
        }
        return number
    }
}
