public import Logging

/// One versioned step of a schema. Its statements are written once per dialect through
/// `SQLDialect`'s helpers, so a migration reads the same on SQLite and PostgreSQL.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: @Sendable (SQLDialect) -> [SQLQuery]

    public init(version: Int, name: String, statements: @escaping @Sendable (SQLDialect) -> [SQLQuery]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Applies migrations in order, each in its own transaction, recording what ran in
/// `schema_migrations`. Running it again is a no-op: every instance may run it at start.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(_ migrations: [Migration]) {
        precondition(Set(migrations.map(\.version)).count == migrations.count, "duplicate migration versions")
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The newest version this build knows.
    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Applies what is missing; returns the versions applied.
    @discardableResult
    public func migrate(_ database: some Database, logger: Logger) async throws -> [Int] {
        // A current schema needs no write (and no lock): a start-up while the primary is
        // busy, or only readable, costs one read.
        if try await currentVersion(database) >= latestVersion { return [] }
        try await database.transaction { db in
            try await Self.lock(db)
            try await db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        }
        var applied: [Int] = []
        for migration in migrations where try await !isApplied(migration.version, in: database) {
            let ran = try await database.transaction { db in
                try await Self.lock(db)
                // Checked again inside the transaction: another instance may have won the race.
                guard try await db.first("SELECT version FROM schema_migrations WHERE version = \(bind: migration.version)") == nil else {
                    return false
                }
                for statement in migration.statements(db.dialect) {
                    try await db.execute(statement)
                }
                try await db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(bind: migration.version), \(bind: migration.name), CURRENT_TIMESTAMP)"
                )
                return true
            }
            guard ran else { continue }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            applied.append(migration.version)
        }
        return applied
    }

    /// The highest applied version, 0 for an empty database.
    /// From the latest state: a replica may not have replayed the migrations yet.
    public func currentVersion(_ database: some Database) async throws -> Int {
        try await database.readLatest { db in
            guard try await db.first(Self.tableExists(db.dialect)) != nil else { return 0 }
            return try await db.first("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")?.decode("v") ?? 0
        }
    }

    /// Whether the schema is at least what this build expects.
    public func isCurrent(_ database: some Database) async -> Bool {
        (try? await currentVersion(database)) ?? 0 >= latestVersion
    }

    private func isApplied(_ version: Int, in database: some Database) async throws -> Bool {
        try await database.readLatest { db in
            try await db.first("SELECT version FROM schema_migrations WHERE version = \(bind: version)") != nil
        }
    }

    /// Instances that start together migrate one at a time. SQLite's write transactions
    /// already exclude each other; PostgreSQL's DDL does not (two `CREATE TABLE IF NOT
    /// EXISTS` can collide), so a transaction-scoped advisory lock does it.
    private static func lock(_ db: any SQLExecutor) async throws {
        if db.dialect == .postgres { try await db.execute("SELECT pg_advisory_xact_lock(7263541)") }
    }

    private static func tableExists(_ dialect: SQLDialect) -> SQLQuery {
        switch dialect {
        case .sqlite: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        case .postgres: "SELECT tablename FROM pg_tables WHERE tablename = 'schema_migrations'"
        }
    }
}
