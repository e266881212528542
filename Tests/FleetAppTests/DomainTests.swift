@testable import FleetApp
import FleetData
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (1_455_765_776_637, "2016-02-18T03:22:56.637Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
    ])
    func formatsISO8601WithMilliseconds(milliseconds: Int64, expected: String) {
        #expect(Timestamp(milliseconds: milliseconds).description == expected)
    }
}

@Suite struct SlugTests {
    @Test func readablePartThenRoutableID() {
        let id = FleetID(milliseconds: 1_800_000_000_000, shard: LogicalShard(rawValue: 5), sequence: 1)
        let slug = Slug.make(title: "How to Train Your Dragon?!", id: id)
        #expect(slug == "how-to-train-your-dragon-\(id.base36)")
        #expect(Slug.id(in: slug) == id)
        #expect(Slug.id(in: slug)?.shard == LogicalShard(rawValue: 5))
    }

    @Test func titlesWithoutASCIILettersStillGetASlug() {
        let id = FleetID(rawValue: 123_456_789)
        #expect(Slug.make(title: "日本語 🐉", id: id) == "article-\(id.base36)")
        #expect(Slug.make(title: String(repeating: "a", count: 500), id: id).count < 100)
    }

    @Test func garbageCarriesNoID() {
        for text in ["", "no-dash-here-", "-", "abc", String(repeating: "x-", count: 500)] {
            #expect(Slug.id(in: text) == nil || text == "abc")
        }
    }
}

@Suite struct PasswordTests {
    @Test func bcryptRoundTripAndDecoyIsWellFormed() async throws {
        let hasher = BcryptPasswordHasher(cost: 4)
        let hash = try await hasher.hash("password123")
        #expect(try await hasher.verify("password123", against: hash))
        #expect(try await !hasher.verify("password124", against: hash))
        let decoy = try await hasher.decoyHash()
        #expect(try await !hasher.verify("password123", against: decoy))
        #expect(decoy.count == 60)
        #expect(try await hasher.decoyHash() == decoy)
    }

    /// A failed login for an unknown address costs what one for a known address costs:
    /// the decoy is hashed at the configured cost (a fixed cost-12 decoy under cost 13
    /// answered 16 times as fast for unknown addresses).
    @Test(arguments: [4, 10])
    func theDecoyHasTheConfiguredCost(cost: Int) async throws {
        let decoy = try await BcryptPasswordHasher(cost: cost).decoyHash()
        #expect(decoy.split(separator: "$").dropFirst().first.map(String.init) == (cost < 10 ? "0\(cost)" : "\(cost)"))
    }

    @Test func memoizingHasherHashesEachPasswordOnce() async throws {
        let hasher = MemoizingPasswordHasher(BcryptPasswordHasher(cost: 4))
        let first = try await hasher.hash("same")
        #expect(try await hasher.hash("same") == first)
        #expect(try await hasher.hash("other") != first)
    }
}
