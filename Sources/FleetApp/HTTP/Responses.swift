/// How domain values are written as JSON. Optional fields are written as `null`, never
/// left out: Conduit clients read `bio` and `image` unconditionally. Responses wrap these
/// in `JSONEnvelope` (`{"article": ...}`).
public import FleetHTTP
import HTTPTypes

/// `{"articles": [...], "articlesCount": n}`, the one response that is not an envelope.
struct ArticlesResponse: JSONResponse {
    let page: ArticlePage
    func write(to json: inout JSONWriter) {
        json.object { json in
            json.key("articles")
            page.articles.write(to: &json)
            json.field("articlesCount", page.articlesCount)
        }
    }

    /// A page answered without some shards says so: `X-Fleet-Partial: shards=1`.
    var headers: HTTPFields {
        page.missingShards.isEmpty ? [:] : [Self.partialHeader: "shards=" + page.missingShards.map(String.init).joined(separator: ",")]
    }

    static var partialHeader: HTTPField.Name { HTTPField.Name("X-Fleet-Partial")! }
}

extension AuthenticatedUser: JSONWritable {
    public func write(to json: inout JSONWriter) {
        json.object { json in
            json.field("email", email)
            json.field("token", token)
            json.field("username", username)
            json.field("bio", bio)
            json.field("image", image)
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
            tagList.write(to: &json)
            json.field("createdAt", createdAt)
            json.field("updatedAt", updatedAt)
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
            json.field("id", Int(id))
            json.field("createdAt", createdAt)
            json.field("updatedAt", updatedAt)
            json.field("body", body)
            json.key("author")
            author.write(to: &json)
        }
    }
}

extension JSONWriter {
    /// A timestamp as an ISO 8601 string, written without an intermediate `String`.
    mutating func field(_ key: StaticString, _ timestamp: Timestamp) {
        self.key(key)
        rawValue { bytes in
            bytes.append(UInt8(ascii: "\""))
            timestamp.appendISO8601(to: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
    }
}
