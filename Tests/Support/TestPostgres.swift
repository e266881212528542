public import FleetData
import Foundation
import Logging

/// Creates a database per test on a shared PostgreSQL server (`FLEET_TEST_POSTGRES_URL`).
public enum TestPostgres {
    /// The server the PostgreSQL runs of the tests use, if any.
    public static var adminURL: String? { ProcessInfo.processInfo.environment["FLEET_TEST_POSTGRES_URL"] }

    /// Creates a fresh database and returns its URL.
    public static func createDatabase(admin url: String) async throws -> String {
        let name = "fleet_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        var configuration = try PostgresDatabase.Configuration(url: url)
        // Each CREATE DATABASE copies the template (through the WAL, to the replica too),
        // and a parallel run starts dozens of tests at once on a busy machine: in one run
        // of the test command every create of the first seconds waited past the default
        // 10 s (40 at once take 2.8 s on an idle server).
        configuration.statementTimeout = .seconds(60)
        let admin = PostgresDatabase(configuration, logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await admin.run() }
            defer { group.cancelAll() }
            try await admin.read { try await $0.execute(SQLQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        }
        guard let slash = url.lastIndex(of: "/") else { throw TestPostgresError(description: "the admin URL names no database: \(url)") }
        return url[..<slash] + "/" + name
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
}
