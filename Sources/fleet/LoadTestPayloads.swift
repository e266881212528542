/// The JSON the load test sends and reads: just the Conduit fields it uses, each inside
/// the envelope the API wraps it in (`{"user": {...}}`, `{"article": {...}}`, ...).
enum LoadTestPayload {
    struct User<Fields: Codable>: Codable {
        let user: Fields
    }

    struct Article<Fields: Codable>: Codable {
        let article: Fields
    }

    struct Credentials: Codable {
        let email: String
        let password: String
    }

    struct Registration: Codable {
        let username: String
        let email: String
        let password: String
    }

    struct Token: Codable {
        let token: String
    }

    struct NewArticle: Codable {
        let title: String
        let description: String
        let body: String
        let tagList: [String]
    }

    struct ArticleView: Codable {
        let slug: String
        let title: String
        let favorited: Bool
    }

    struct Comment<Fields: Codable>: Codable {
        let comment: Fields
    }

    struct Comments<Fields: Codable>: Codable {
        let comments: [Fields]
    }

    struct Profile<Fields: Codable>: Codable {
        let profile: Fields
    }

    struct CommentText: Codable {
        let body: String
    }

    /// A comment's id as the server sent it: a JSON number, compared as a whole number
    /// (never through a Double, which would round large ones).
    struct CommentView: Codable {
        let id: Int64
        let body: String
    }

    struct ProfileView: Codable {
        let username: String
        let following: Bool
    }

    static func login(_ email: String, _ password: String) -> User<Credentials> {
        User(user: Credentials(email: email, password: password))
    }
}
