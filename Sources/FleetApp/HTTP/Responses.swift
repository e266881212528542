/// Response bodies, each wrapped the way Conduit clients expect, written with
/// `JSONWriter`. Optional fields are written as `null`, never left out: Conduit clients
/// read `bio` and `image` unconditionally.
public import FleetHTTP

struct UserResponse: JSONResponse {
    let user: AuthenticatedUser
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("user")
            json.object { json in
                json.field("email", user.email)
                json.field("token", user.token)
                json.field("username", user.username)
                json.field("bio", user.bio)
                json.field("image", user.image)
            }
        }
    }
}

struct ProfileResponse: JSONResponse {
    let profile: Profile
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("profile")
            profile.write(to: &json)
        }
    }
}

struct ArticleResponse: JSONResponse {
    let article: Article
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("article")
            article.write(to: &json)
        }
    }
}

struct ArticlesResponse: JSONResponse {
    let page: ArticlePage
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("articles")
            json.array(page.articles) { json, article in article.write(to: &json) }
            json.field("articlesCount", page.articlesCount)
        }
    }
}

struct CommentResponse: JSONResponse {
    let comment: Comment
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("comment")
            comment.write(to: &json)
        }
    }
}

struct CommentsResponse: JSONResponse {
    let comments: [Comment]
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("comments")
            json.array(comments) { json, comment in comment.write(to: &json) }
        }
    }
}

struct TagsResponse: JSONResponse {
    let tags: [String]
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("tags")
            json.array(tags) { json, tag in json.value(tag) }
        }
    }
}

extension Profile: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("username", username)
            json.field("bio", bio)
            json.field("image", image)
            json.field("following", following)
        }
    }
}

extension Article: JSONWritable {
    /// Lists leave `body` out (`body == nil`), as the Conduit spec requires.
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("slug", slug)
            json.field("title", title)
            json.field("description", description)
            if let body { json.field("body", body) }
            json.key("tagList")
            json.array(tagList) { json, tag in json.value(tag) }
            json.field("createdAt", createdAt.description)
            json.field("updatedAt", updatedAt.description)
            json.field("favorited", favorited)
            json.field("favoritesCount", favoritesCount)
            json.key("author")
            author.write(to: &json)
        }
    }
}

extension Comment: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("id")
            json.value(id.rawValue)
            json.field("createdAt", createdAt.description)
            json.field("updatedAt", updatedAt.description)
            json.field("body", body)
            json.key("author")
            author.write(to: &json)
        }
    }
}
