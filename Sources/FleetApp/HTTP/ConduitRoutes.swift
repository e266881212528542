import FleetData
import FleetHTTP
public import Hummingbird

/// The nineteen operations of the Conduit API, under `/api`.
///
/// Handlers only translate between HTTP and the services: parse, call, wrap.
public struct ConduitRoutes: Sendable {
    let services: ConduitServices

    public init(services: ConduitServices) {
        self.services = services
    }

    public func add(to group: RouterGroup<ConduitContext>) {
        addUsers(to: group)
        addProfiles(to: group)
        addArticles(to: group)
        addComments(to: group)
        group.get("tags") { _, _ in JSONEnvelope("tags", try await services.articles.tags()) }
    }

    func addUsers(to group: RouterGroup<ConduitContext>) {
        let users = services.users
        group.post("users/login") { request, context in
            let input = try await request.decodeJSON(as: UserEnvelope<LoginInput>.self, context: context).user
            return JSONEnvelope("user", try await users.login(email: input.email, password: input.password))
        }
        group.post("users") { request, context in
            let input = try await request.decodeJSON(as: UserEnvelope<RegistrationInput>.self, context: context).user
            let user = try await users.register(username: input.username, email: input.email, password: input.password)
            return EditedResponse(status: .created, response: JSONEnvelope("user", user))
        }
        group.get("user") { _, context in
            JSONEnvelope("user", try await users.current(try context.requireViewer(), token: context.token ?? ""))
        }
        group.put("user") { request, context in
            let viewer = try context.requireViewer()
            let input = try await request.decodeJSON(as: UserEnvelope<UserUpdateInput>.self, context: context).user
            return JSONEnvelope("user", try await users.update(viewer, token: context.token ?? "", with: input.update))
        }
    }

    func addProfiles(to group: RouterGroup<ConduitContext>) {
        let profiles = services.profiles
        group.get("profiles/:username") { _, context in
            JSONEnvelope("profile", try await profiles.profile(try context.parameters.require("username"), viewer: context.viewer))
        }
        group.post("profiles/:username/follow") { _, context in
            let viewer = try context.requireViewer()
            return JSONEnvelope("profile", try await profiles.follow(try context.parameters.require("username"), by: viewer))
        }
        group.delete("profiles/:username/follow") { _, context in
            let viewer = try context.requireViewer()
            return JSONEnvelope("profile", try await profiles.unfollow(try context.parameters.require("username"), by: viewer))
        }
    }

    func addArticles(to group: RouterGroup<ConduitContext>) {
        let articles = services.articles
        group.get("articles") { request, context in
            let query = request.uri.queryParameters
            var filter = try PageParameters.filter(from: request)
            filter.tag = query.get("tag")
            filter.author = query.get("author")
            filter.favoritedBy = query.get("favorited")
            return ArticlesResponse(page: try await articles.list(filter, viewer: context.viewer))
        }
        group.get("articles/feed") { request, context in
            let viewer = try context.requireViewer()
            var filter = try PageParameters.filter(from: request)
            filter.followedBy = viewer
            return ArticlesResponse(page: try await articles.list(filter, viewer: viewer))
        }
        group.get("articles/:slug") { _, context in
            JSONEnvelope("article", try await articles.article(try context.parameters.require("slug"), viewer: context.viewer))
        }
        group.post("articles") { request, context in
            let viewer = try context.requireViewer()
            let input = try await request.decodeJSON(as: ArticleEnvelope<NewArticleInput>.self, context: context).article
            let article = try await articles.create(
                title: input.title, description: input.description, body: input.body, tagList: input.tagList, author: viewer
            )
            return EditedResponse(status: .created, response: JSONEnvelope("article", article))
        }
        group.put("articles/:slug") { request, context in
            let viewer = try context.requireViewer()
            let slug = try context.parameters.require("slug")
            let input = try await request.decodeJSON(as: ArticleEnvelope<ArticleUpdateInput>.self, context: context).article
            return JSONEnvelope("article", try await articles.update(slug, with: input.update, by: viewer))
        }
        group.delete("articles/:slug") { _, context in
            let viewer = try context.requireViewer()
            try await articles.delete(try context.parameters.require("slug"), by: viewer)
            return HTTPResponse.Status.noContent
        }
        group.post("articles/:slug/favorite") { _, context in
            let viewer = try context.requireViewer()
            return JSONEnvelope("article", try await articles.favorite(try context.parameters.require("slug"), by: viewer))
        }
        group.delete("articles/:slug/favorite") { _, context in
            let viewer = try context.requireViewer()
            return JSONEnvelope("article", try await articles.unfavorite(try context.parameters.require("slug"), by: viewer))
        }
    }

    func addComments(to group: RouterGroup<ConduitContext>) {
        let comments = services.comments
        group.get("articles/:slug/comments") { _, context in
            JSONEnvelope("comments", try await comments.list(slug: try context.parameters.require("slug"), viewer: context.viewer))
        }
        group.post("articles/:slug/comments") { request, context in
            let viewer = try context.requireViewer()
            let slug = try context.parameters.require("slug")
            let input = try await request.decodeJSON(as: CommentEnvelope<NewCommentInput>.self, context: context).comment
            let comment = try await comments.add(slug: slug, body: input.body, author: viewer)
            return EditedResponse(status: .created, response: JSONEnvelope("comment", comment))
        }
        group.delete("articles/:slug/comments/:id") { _, context in
            let viewer = try context.requireViewer()
            try await comments.delete(
                slug: try context.parameters.require("slug"), commentID: try context.parameters.require("id"), by: viewer
            )
            return HTTPResponse.Status.noContent
        }
    }
}

/// `limit` and `offset`, checked: a bad value is a 422 naming the parameter.
enum PageParameters {
    static func filter(from request: Request) throws -> ArticleFilter {
        var validator = Validator()
        let limit = parse("limit", request, default: 20, range: 1...Rules.maxLimit, into: &validator)
        let offset = parse("offset", request, default: 0, range: 0...Rules.maxOffset, into: &validator)
        try validator.check()
        return ArticleFilter(limit: limit, offset: offset)
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
