@testable import FleetApp
import FleetData
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Text from clients: limits in bytes as well as characters, one spelling (NFC) for
/// equal text, no control or format characters in names and tags, no NUL anywhere.
@Suite struct TextInputTests {
    /// JSON for a string, escaped (control characters included).
    static func json(_ text: String) -> String {
        (try? JSONEncoder().encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    @Test func oneCharacterOfManyBytesIsMeasuredInBytes() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("zalgo")
            // One letter and 200,000 combining marks: one character, 400 KB.
            let title = "a" + String(repeating: "\u{0301}", count: 200_000)
            #expect(title.count == 1)
            let response = try await client.send(
                .post, "/api/articles", token: token,
                json: #"{"article":{"title":\#(Self.json(title)),"description":"d","body":"b"}}"#
            )
            #expect(response.status == .unprocessableContent)
            #expect(errors(response)["title"] == ["is too long (maximum is 1024 bytes)"])
            let tag = String(repeating: "é", count: 200)  // 200 characters, 400 bytes
            let tagged = try await client.send(
                .post, "/api/articles", token: token, json: #"{"article":{"title":"t","description":"d","body":"b","tagList":["\#(tag)"]}}"#
            )
            #expect(errors(tagged)["tagList"] == ["is too long (maximum is 256 bytes)"])
            let email = String(repeating: "e", count: 250) + "@x.io"
            let signup = try await client.send(.post, "/api/users", json: #"{"user":{"username":"longmail","email":"\#(email)","password":"password123"}}"#)
            #expect(errors(signup)["email"] == ["is too long (maximum is 254 bytes)"])
        }
    }

    @Test(arguments: [
        ("username", "a\u{200B}b"), ("username", "a\u{202E}b"), ("email", "a\u{200B}@example.com"), ("email", "a\u{202E}b@example.com"),
    ])
    func formatCharactersAreRefusedInNames(field: String, value: String) async throws {
        try await TestConduit.make().test { client in
            var user = ["username": "plain", "email": "plain@example.com", "password": "password123"]
            user[field] = value
            let body = "{\"user\":{" + user.map { "\"\($0.key)\":\(Self.json($0.value))" }.joined(separator: ",") + "}}"
            let response = try await client.send(.post, "/api/users", json: body)
            #expect(response.status == .unprocessableContent)
            #expect(errors(response)[field] != nil)
        }
    }

    @Test(arguments: ["\u{200B}", "\u{202E}", "\u{0007}", "\u{0000}"])
    func controlAndFormatCharactersAreRefusedInTags(character: String) async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("tagger")
            let response = try await client.send(
                .post, "/api/articles", token: token,
                json: #"{"article":{"title":"t","description":"d","body":"b","tagList":[\#(Self.json("x" + character + "y"))]}}"#
            )
            #expect(response.status == .unprocessableContent)
            #expect(errors(response)["tagList"] != nil)
        }
    }

    /// PostgreSQL refuses NUL in text (a 500 if it got there): it is refused at the edge.
    @Test func nulIsRefusedEverywhere() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("nul")
            for query in ["tag=%00", "author=a%00b", "favorited=%00", "tag=caf%C3%A9%00"] {
                let response = try await client.send(.get, "/api/articles?\(query)")
                #expect(response.status == .unprocessableContent, "\(query)")
            }
            #expect(try await client.send(.get, "/api/profiles/a%00b").status == .notFound)
            let article = try await client.send(
                .post, "/api/articles", token: token, json: #"{"article":{"title":"a\u0000b","description":"d","body":"b\u0000"}}"#
            )
            #expect(Set(errors(article).keys) == ["title", "body"])
            let comment = try await client.send(
                .post, "/api/articles/\(try await client.createArticle(token))/comments", token: token, json: #"{"comment":{"body":"\u0000"}}"#
            )
            #expect(errors(comment)["body"] == ["may not contain NUL characters"])
            let bio = try await client.send(.put, "/api/user", token: token, json: #"{"user":{"bio":"x\u0000"}}"#)
            #expect(bio.status == .unprocessableContent)
        }
    }

    /// bcrypt stops at a NUL: with one allowed, every password sharing the bytes before
    /// it would open the account.
    @Test func nulInAPasswordIsRefused() async throws {
        try await TestConduit.make().test { client in
            let signup = try await client.send(.post, "/api/users", json: #"{"user":{"username":"nulpw","email":"nulpw@example.com","password":"a\u0000bcdefgh"}}"#)
            #expect(signup.status == .unprocessableContent)
            #expect(errors(signup)["password"] == ["may not contain NUL characters"])
            _ = try await client.register("victim")
            let login = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"victim@example.com","password":"p\u0000zzzzzzz"}}"#)
            #expect(login.status == .unprocessableContent)
            let token = try await client.register("changer")
            let change = try await client.send(.put, "/api/user", token: token, json: #"{"user":{"password":"a\u0000bcdefgh"}}"#)
            #expect(change.status == .unprocessableContent)
        }
    }

    /// Text is stored in NFC: a title typed with a combining accent reads back composed,
    /// and an NFD password signs in as its NFC spelling.
    @Test func textIsNormalizedToNFC() async throws {
        try await TestConduit.make().test { client in
            let signup = try await client.send(
                .post, "/api/users", json: #"{"user":{"username":"nfc","email":"nfc@example.com","password":"cafe\u0301 au lait"}}"#
            )
            #expect(signup.status == .created)
            let token = try #require(JSON(signup)["user"]["token"].string)
            let login = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"nfc@example.com","password":"caf\u00e9 au lait"}}"#)
            #expect(login.status == .ok)
            let created = JSON(try await client.send(
                .post, "/api/articles", token: token, json: #"{"article":{"title":"Cafe\u0301","description":"d","body":"b"}}"#
            ))
            #expect(created["article"]["title"].string.map { Array($0.unicodeScalars) } == Array("Caf\u{E9}".unicodeScalars))
        }
    }

    /// An account made before input was normalised keeps the password as it was typed
    /// (here decomposed): typed the same way, it still signs in.
    @Test func accountsFromBeforeNormalisationStillSignIn() async throws {
        try await TestConduit.make().test { client, harness in
            _ = try await client.register("elder")
            let typed = "cafe\u{301}-latte"
            let hash = try await harness.services.passwords.hash(typed)
            let id = try #require(await harness.services.profiles.userID(named: "elder"))
            try await harness.database.node(for: id).transaction { db in
                try await db.execute("UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: id)")
            }
            let login = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"elder@example.com","password":"cafe\u0301-latte"}}"#)
            #expect(login.status == .ok)
            let wrong = try await client.send(.post, "/api/users/login", json: #"{"user":{"email":"elder@example.com","password":"cafe-latte!"}}"#)
            #expect(wrong.status == .unauthorized)
        }
    }

    /// Article A is tagged `café` (NFC); B is tagged `café` in NFD, moved to the NFC
    /// spelling, then deleted. The tag's count must still be 1 and list A.
    @Test func unicodeEquivalentTagsKeepTheirCounts() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("barista")
            let nfc = "caf\u{E9}"
            let nfd = "cafe\u{301}"
            func create(_ title: String, _ tag: String) async throws -> String {
                let response = try await client.send(
                    .post, "/api/articles", token: token,
                    json: #"{"article":{"title":"\#(title)","description":"d","body":"b","tagList":[\#(Self.json(tag))]}}"#
                )
                return try #require(JSON(response)["article"]["slug"].string)
            }
            let a = try await create("A", nfc)
            let b = try await create("B", nfd)
            let moved = try await client.send(.put, "/api/articles/\(b)", token: token, json: #"{"article":{"tagList":[\#(Self.json(nfc))]}}"#)
            #expect(moved.status == .ok)
            #expect(try await client.send(.delete, "/api/articles/\(b)", token: token).status == .noContent)
            let query = nfc.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? nfc
            let page = JSON(try await client.send(.get, "/api/articles?tag=\(query)"))
            #expect(page["articles"].array.compactMap { $0["slug"].string } == [a])
            #expect(page["articlesCount"].int == 1)
            let decomposed = nfd.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? nfd
            #expect(JSON(try await client.send(.get, "/api/articles?tag=\(decomposed)"))["articlesCount"].int == 1)
            #expect(JSON(try await client.send(.get, "/api/tags"))["tags"].array.compactMap(\.string) == [nfc])
        }
    }

    @Test func tagListIsAlphabetical() async throws {
        try await TestConduit.make().test { client in
            let token = try await client.register("sorter")
            let created = JSON(try await client.send(
                .post, "/api/articles", token: token,
                json: #"{"article":{"title":"t","description":"d","body":"b","tagList":["training","dragons","angular","dragons"]}}"#
            ))
            #expect(created["article"]["tagList"].array.compactMap(\.string) == ["angular", "dragons", "training"])
            let slug = try #require(created["article"]["slug"].string)
            #expect(JSON(try await client.send(.get, "/api/articles/\(slug)"))["article"]["tagList"].array.compactMap(\.string) == ["angular", "dragons", "training"])
            let updated = JSON(try await client.send(.put, "/api/articles/\(slug)", token: token, json: #"{"article":{"tagList":["zebra","apple"]}}"#))
            #expect(updated["article"]["tagList"].array.compactMap(\.string) == ["apple", "zebra"])
        }
    }
}
