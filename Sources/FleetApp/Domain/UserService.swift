public import FleetData
import FleetHTTP

/// Sign-up, sign-in and the signed-in user's own account.
public struct UserService: Sendable {
    let services: ConduitServices

    public func register(username: String?, email: String?, password: String?) async throws -> AuthenticatedUser {
        var validator = Validator()
        let username = Rules.username(username, into: &validator)
        let email = Rules.email(email, into: &validator)
        let password = Rules.password(password, into: &validator)
        try validator.check()

        let key = username.lowercased()
        // Refuse a taken name before spending a bcrypt hash on it.
        try await services.database.read { db in try await Self.ensureAvailable(usernameKey: key, email: email, except: nil, in: db) }
        let hash = try await services.passwords.hash(password)
        let id = services.ids.next(on: LogicalShard(hashing: key))
        let now = services.now()
        try await Self.mapUniqueViolation {
            try await services.database.transaction { db in
                try await Self.ensureAvailable(usernameKey: key, email: email, except: nil, in: db)
                try await db.execute(
                    """
                    INSERT INTO users (id, username, username_key, email, password_hash, bio, image, created_at, updated_at)
                    VALUES (\(bind: id), \(bind: username), \(bind: key), \(bind: email), \(bind: hash), NULL, NULL, \(bind: now), \(bind: now))
                    """
                )
            }
        }
        // "No such name" may be cached from before.
        await services.caches.usernames.invalidate(key)
        let token = try await services.tokens.issue(for: id)
        return AuthenticatedUser(email: email, token: token, username: username, bio: nil, image: nil)
    }

    public func login(email: String?, password: String?) async throws -> AuthenticatedUser {
        var validator = Validator()
        let email = validator.required("email", email, maxLength: Rules.emailMaxLength).trimmingWhitespace().lowercased()
        if password?.isEmpty ?? true { validator.add("password", "can't be blank") }
        try validator.check()
        let password = password ?? ""

        // From the latest state: an account made a moment ago may not be on a replica yet.
        let user = try await services.database.readLatest { db in
            try await Self.user(where: "email = \(bind: email)", in: db)
        }
        // Verify against a fixed hash when the user is unknown so that timing does not
        // reveal which e-mail addresses are registered.
        let valid = try await services.passwords.verify(password, against: user?.passwordHash ?? Self.decoyHash)
        guard let user, valid, password.utf8.count <= Rules.passwordMaxBytes else { throw APIError.invalidCredentials }
        let token = try await services.tokens.issue(for: user.id)
        return AuthenticatedUser(email: user.email, token: token, username: user.username, bio: user.bio, image: user.image)
    }

    public func current(_ id: FleetID, token: String) async throws -> AuthenticatedUser {
        guard let user = try await cached([id.rawValue])[id.rawValue] else {
            throw APIError.invalidToken  // a valid token for an account that no longer exists
        }
        return AuthenticatedUser(email: user.email, token: token, username: user.username, bio: user.bio, image: user.image)
    }

    /// Users by id from the user cache; the missing ones in one query.
    func cached(_ ids: some Collection<Int64>) async throws -> [Int64: CachedUser] {
        let database = services.database
        if ids.count == 1, let id = ids.first {
            let user = try await services.caches.users.get(String(id)) {
                try await database.readLatest { db in try await Self.user(where: "id = \(bind: id)", in: db) }.map(CachedUser.init)
            }
            return user.map { [id: $0] } ?? [:]
        }
        let found = try await services.caches.users.getMany(ids.map(String.init)) { keys in
            let ids = keys.compactMap { Int64($0) }
            return try await database.readLatest { db in
                let rows = try await db.query("SELECT id, username, email, password_hash, bio, image FROM users WHERE id IN (\(binds: ids))")
                return Dictionary(try rows.map { row in let user = CachedUser(try Self.record(from: row)); return (String(user.id), user) }) { $1 }
            }
        }
        return Dictionary(found.values.map { ($0.id, $0) }) { $1 }
    }

    /// A change to the signed-in user's account; absent fields stay as they are.
    public struct Update: Sendable {
        public var email: Patch<String> = .absent
        public var username: Patch<String> = .absent
        public var password: Patch<String> = .absent
        public var bio: Patch<String> = .absent
        public var image: Patch<String> = .absent
        public init() {}
    }

    public func update(_ id: FleetID, token: String, with update: Update) async throws -> AuthenticatedUser {
        var validator = Validator()
        let email = update.email.isAbsent ? nil : Rules.email(update.email.value, into: &validator)
        let username = update.username.isAbsent ? nil : Rules.username(update.username.value, into: &validator)
        let password = update.password.isAbsent ? nil : Rules.password(update.password.value, into: &validator)
        let bio = Rules.optionalText("bio", update.bio.value, maxLength: Rules.bioMaxLength, into: &validator)
        let image = Rules.image(update.image.value, into: &validator)
        try validator.check()

        let hash: String? = if let password { try await services.passwords.hash(password) } else { nil }
        let now = services.now()
        let (before, after) = try await Self.mapUniqueViolation {
            try await services.database.transaction { db in
                guard var user = try await Self.user(where: "id = \(bind: id)", in: db) else { throw APIError.invalidToken }
                let before = user.username
                try await Self.ensureAvailable(usernameKey: username?.lowercased(), email: email, except: id, in: db)
                if let email { user.email = email }
                if let username { user.username = username }
                if let hash { user.passwordHash = hash }
                if !update.bio.isAbsent { user.bio = bio }
                if !update.image.isAbsent { user.image = image }
                try await db.execute(
                    """
                    UPDATE users SET email = \(bind: user.email), username = \(bind: user.username),
                        username_key = \(bind: user.username.lowercased()), password_hash = \(bind: user.passwordHash),
                        bio = \(bind: user.bio), image = \(bind: user.image), updated_at = \(bind: now)
                    WHERE id = \(bind: id)
                    """
                )
                return (before, user)
            }
        }
        await services.caches.userChanged(id, oldName: before, newName: after.username)
        return AuthenticatedUser(email: after.email, token: token, username: after.username, bio: after.bio, image: after.image)
    }

    // MARK: - Queries shared with other services

    static func user(where condition: SQLQuery, in db: any SQLExecutor) async throws -> UserRecord? {
        guard let row = try await db.first("SELECT id, username, email, password_hash, bio, image FROM users WHERE \(condition)") else {
            return nil
        }
        return try record(from: row)
    }

    static func record(from row: SQLRow) throws -> UserRecord {
        UserRecord(
            id: try row.decode(at: 0), username: try row.decode(at: 1), email: try row.decode(at: 2),
            passwordHash: try row.decode(at: 3), bio: try row.decode(at: 4), image: try row.decode(at: 5)
        )
    }

    static func ensureAvailable(usernameKey: String?, email: String?, except id: FleetID?, in db: any SQLExecutor) async throws {
        if let usernameKey,
            let row = try await db.first("SELECT id FROM users WHERE username_key = \(bind: usernameKey)"),
            try row.decode(at: 0, as: FleetID.self) != id
        {
            throw APIError.taken("username")
        }
        if let email,
            let row = try await db.first("SELECT id FROM users WHERE email = \(bind: email)"),
            try row.decode(at: 0, as: FleetID.self) != id
        {
            throw APIError.taken("email")
        }
    }

    /// A concurrent sign-up can pass the check and still lose at the unique index.
    static func mapUniqueViolation<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch DatabaseError.uniqueViolation(let message) {
            throw APIError.taken(message.contains("email") ? "email" : "username")
        }
    }

    /// A bcrypt hash of a random string, for constant-time failed logins.
    static let decoyHash = "$2b$12$C6UzMDM.H6dfI/f/IKcEeO5P0Y8XvQjW6Kx7oYHLN9wHXt5lHzRh2"
}

/// A field of a partial update: left out, set to null, or set to a value.
public enum Patch<Value: Sendable>: Sendable {
    case absent
    case null
    case value(Value)

    public var isAbsent: Bool { if case .absent = self { true } else { false } }
    public var value: Value? { if case .value(let value) = self { value } else { nil } }
}
