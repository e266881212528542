@testable import FleetData
import Testing

@Suite struct PostgresConfigurationTests {
    @Test func readsAURL() throws {
        let configuration = try PostgresDatabase.Configuration(url: "postgres://fleet:s%40cret@db.internal:6543/conduit?sslmode=disable")
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "fleet")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == "conduit")
    }

    @Test func defaultsThePort() throws {
        let configuration = try PostgresDatabase.Configuration(url: "postgresql://fleet@127.0.0.1/fleet")
        #expect(configuration.port == 5432)
        #expect(configuration.password == nil)
    }

    @Test(arguments: ["mysql://u@h/d", "postgres://h/d", "postgres://u@h:99999/d", "postgres://u@h", "nonsense", "postgres://u@/d"])
    func refusesWhatIsNotAPostgresURL(url: String) {
        #expect(throws: DatabaseError.self) { try PostgresDatabase.Configuration(url: url) }
    }
}
