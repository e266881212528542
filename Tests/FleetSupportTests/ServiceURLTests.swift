import FleetSupport
import Testing

@Suite struct ServiceURLTests {
    @Test func readsEveryPart() throws {
        let url = try ServiceURL("postgres://fleet:s3cret@db.internal:6432/conduit?sslmode=disable")
        #expect(url.scheme == "postgres" && url.user == "fleet" && url.password == "s3cret")
        #expect(url.host == "db.internal" && url.port == 6432 && url.path == "conduit" && url.query == "sslmode=disable")
    }

    @Test func percentEscapesAndDelimitersInAPassword() throws {
        let escaped = try ServiceURL("redis://:p%40ss%3Aword@127.0.0.1/2")
        #expect(escaped.user == nil && escaped.password == "p@ss:word" && escaped.path == "2" && escaped.port == nil)
        // Unescaped, the credentials still end at the last '@'.
        let raw = try ServiceURL("postgres://u:a@b/c@host:5432/db")
        #expect(raw.password == "a@b/c" && raw.host == "host" && raw.path == "db")
    }

    @Test func bracketedIPv6Hosts() throws {
        let url = try ServiceURL("redis://[::1]:6380")
        #expect(url.host == "::1" && url.port == 6380 && url.path == "")
    }

    @Test(arguments: [
        "db.internal:5432/x", "://host", "postgres://", "postgres://user@:5432/db", "postgres://host:0/db",
        "postgres://host:99999/db", "postgres://host:port/db", "postgres://u:%zz@host/db", "redis://[::1:6379", "redis://[::1]x",
    ])
    func refusesWhatIsNotAServiceURL(text: String) {
        #expect(throws: ServiceURLError.self) { try ServiceURL(text) }
    }

    @Test func errorsNeverRepeatThePassword() {
        do {
            _ = try ServiceURL("postgres://u:topsecret@host:nope/db")
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }
}

@Suite struct DurationAndBackoffTests {
    @Test func unitsTruncateAndSecondsRoundUp() {
        let duration = Duration.seconds(2) + .microseconds(1500)
        #expect(duration.inMilliseconds == 2001)
        #expect(duration.inMicroseconds == 2_001_500)
        #expect(duration.inNanoseconds == 2_001_500_000)
        #expect(duration.inSecondsRoundedUp == 3)
        #expect(Duration.seconds(4).inSecondsRoundedUp == 4)
        #expect(abs(duration.inSeconds - 2.0015) < 1e-9)
    }

    @Test func backoffDoublesItsCeilingWithFullJitterAndResets() {
        var backoff = Backoff(first: .milliseconds(100), max: .milliseconds(500))
        #expect(backoff.next(random: 1) == .milliseconds(100))
        #expect(backoff.next(random: 1) == .milliseconds(200))
        #expect(backoff.next(random: 1) == .milliseconds(400))
        #expect(backoff.next(random: 1) == .milliseconds(500))
        #expect(backoff.next(random: 0) == .milliseconds(100))
        backoff.reset()
        #expect(backoff.next(random: 1) == .milliseconds(100))
    }

    @Test func fnv1aIsStable() {
        // The placement of every existing user depends on these values never changing.
        #expect(FNV1a.hash("".utf8) == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a".utf8) == 0xaf63_dc4c_8601_ec8c)
    }
}
