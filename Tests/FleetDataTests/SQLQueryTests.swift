import FleetData
import Testing

@Suite struct SQLQueryTests {
    @Test func rendersPlaceholdersPerDialect() {
        let name = "jake"
        let query: SQLQuery = "SELECT id FROM users WHERE username = \(bind: name) AND id > \(bind: 5)"
        let sqlite = query.render(for: .sqlite)
        #expect(sqlite.sql == "SELECT id FROM users WHERE username = ?1 AND id > ?2")
        #expect(sqlite.binds == [.text("jake"), .integer(5)])
        #expect(query.render(for: .postgres).sql == "SELECT id FROM users WHERE username = $1 AND id > $2")
    }

    @Test func hostileTextNeverEntersTheSQLText() {
        let hostile = "'; DROP TABLE users; --"
        let rendered = ("SELECT 1 WHERE a = \(bind: hostile)" as SQLQuery).render(for: .sqlite)
        #expect(!rendered.sql.contains("DROP"))
        #expect(rendered.binds == [.text(hostile)])
    }

    @Test func listsAndSplicesNumberBindsInOrder() {
        let inner: SQLQuery = "b = \(bind: "x")"
        let query: SQLQuery = "a IN (\(binds: [1, 2, 3])) AND \(inner) AND c = \(bind: Optional<String>.none)"
        let rendered = query.render(for: .postgres)
        #expect(rendered.sql == "a IN ($1, $2, $3) AND b = $4 AND c = $5")
        #expect(rendered.binds == [.integer(1), .integer(2), .integer(3), .text("x"), .null])
    }

    @Test func emptyListMatchesNothing() {
        let query: SQLQuery = "a IN (\(binds: [Int]()))"
        #expect(query.render(for: .sqlite).sql == "a IN (NULL)")
    }

    @Test func joinsConditions() {
        let conditions: [SQLQuery] = ["a = \(bind: 1)", "b = \(bind: 2)"]
        #expect(conditions.joined(separator: " AND ").render(for: .sqlite).sql == "a = ?1 AND b = ?2")
    }
}
