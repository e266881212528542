public import FleetData
import Foundation
import Logging

/// Runs `body` on a new SQLite file in a temporary folder, then closes and removes it.
public func withTemporarySQLite<T>(readers: Int = 4, _ body: (SQLiteDatabase) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let database = try await SQLiteDatabase.open(
        .init(path: directory.appendingPathComponent("test.sqlite").path, readers: readers), logger: Logger(label: "test")
    )
    do {
        let result = try await body(database)
        await database.close()
        return result
    } catch {
        await database.close()
        throw error
    }
}
