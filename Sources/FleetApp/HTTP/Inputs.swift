/// Request bodies. Every field is optional at the decoding stage so that a missing or
/// null field becomes a validation message (422) rather than a decoding failure, while a
/// field of the wrong type still fails decoding with its name.

struct UserEnvelope<Body: Decodable & Sendable>: Decodable, Sendable { let user: Body }
struct ArticleEnvelope<Body: Decodable & Sendable>: Decodable, Sendable { let article: Body }
struct CommentEnvelope<Body: Decodable & Sendable>: Decodable, Sendable { let comment: Body }

struct RegistrationInput: Decodable, Sendable {
    let username: String?
    let email: String?
    let password: String?
}

struct LoginInput: Decodable, Sendable {
    let email: String?
    let password: String?
}

struct UserUpdateInput: Decodable, Sendable {
    let update: UserService.Update

    enum CodingKeys: String, CodingKey { case email, username, password, bio, image }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var update = UserService.Update()
        update.email = try container.patch(.email)
        update.username = try container.patch(.username)
        update.password = try container.patch(.password)
        update.bio = try container.patch(.bio)
        update.image = try container.patch(.image)
        self.update = update
    }
}

struct NewArticleInput: Decodable, Sendable {
    let title: String?
    let description: String?
    let body: String?
    let tagList: [String]?
}

struct ArticleUpdateInput: Decodable, Sendable {
    let update: ArticleService.Update

    enum CodingKeys: String, CodingKey { case title, description, body, tagList }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var update = ArticleService.Update()
        update.title = try container.patch(.title)
        update.description = try container.patch(.description)
        update.body = try container.patch(.body)
        update.tagList = try container.patch(.tagList)
        self.update = update
    }
}

struct NewCommentInput: Decodable, Sendable {
    let body: String?
}

extension KeyedDecodingContainer {
    /// Tells a left-out key from an explicit null from a value.
    func patch<Value: Decodable & Sendable>(_ key: Key) throws -> Patch<Value> {
        guard contains(key) else { return .absent }
        if try decodeNil(forKey: key) { return .null }
        return .value(try decode(Value.self, forKey: key))
    }
}
