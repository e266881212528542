@testable import FleetApp
import FleetData
import Foundation
import Logging
import Testing

/// Instances that start at the same moment all migrate the same database.
@Suite struct MigrationTests {
    @Test func concurrentMigratorsLeaveOneCurrentSchema() async throws {
        let conduit = try await TestConduit.make()
        let logger = Logger(label: "test")
        let database: any Database
        var service: PostgresDatabase?
        if let url = conduit.settings.databaseURL {
            let postgres = PostgresDatabase(try PostgresDatabase.Configuration(url: url), logger: logger)
            database = postgres
            service = postgres
        } else {
            try FileManager.default.createDirectory(at: conduit.directory, withIntermediateDirectories: true)
            database = try await SQLiteDatabase.open(.init(path: conduit.directory.appendingPathComponent("m.sqlite").path), logger: logger)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let service { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            let applied = try await withThrowingTaskGroup(of: [Int].self) { migrators in
                for _ in 0..<4 { migrators.addTask { try await Schema.migrator.migrate(database, logger: logger) } }
                return try await migrators.reduce(into: []) { $0 += $1 }
            }
            // Every version was applied exactly once, by whichever instance got there first.
            #expect(applied.sorted() == Schema.migrator.migrations.map(\.version))
            #expect(await Schema.migrator.isCurrent(database))
            await database.close()
        }
        try? FileManager.default.removeItem(at: conduit.directory)
    }
}
