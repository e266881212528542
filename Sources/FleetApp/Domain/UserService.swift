public import FleetData

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
        // The user lives on the shard its name hashes to: its name's directory entry too.
        let id = services.ids.next(on: LogicalShard(hashing: key))
        let directory = services.directory
        // Refuse a taken name before spending a bcrypt hash on it.
        let checked = services.now()
        if try await !directory.isAvailable(.username, key, for: nil, now: checked) { throw ConduitError.taken("username") }
        if try await !directory.isAvailable(.email, email, for: nil, now: checked) { throw ConduitError.taken("email") }
        let hash = try await services.passwords.hash(password)

        let now = services.now()
        let started = ContinuousClock.now
        let mails = services.mailer != nil
        try await directory.claim(.username, key, for: id, now: now)
        do {
            try await directory.claim(.email, email, for: id, now: now)
        } catch {
            try? await directory.release(.username, key, from: id)
            throw error
        }
        let services = services
        let followUps: [AfterCommit?]
        do {
            followUps = try await Self.mapUniqueViolation {
                try await services.shards.node(for: id).transaction { db in
                    try await db.execute(
                        """
                        INSERT INTO users (id, username, username_key, email, password_hash, bio, image, created_at, updated_at)
                        VALUES (\(bind: id), \(bind: username), \(bind: key), \(bind: email), \(bind: hash), NULL, NULL, \(bind: now), \(bind: now))
                        """
                    )
                    return [
                        // "No such name" may be cached from before.
                        try await services.invalidating([ConduitCaches.usernameChanged(key)], owner: id, now: now, in: db),
                        // user.created: the welcome e-mail commits with the user.
                        mails ? try await AfterCommit.enqueue(ConduitJobs.welcome, WelcomeMail(user: id.rawValue), owner: id, now: now, in: db, inline: nil) : nil,
                    ]
                }
            }
            // A claim is protected for `UserDirectory.grace`; only a sign-up slower than
            // half of it could have lost a name meanwhile, and then it checks.
            if ContinuousClock.now - started > .milliseconds(UserDirectory.grace / 2) {
                guard try await directory.user(.username, key) == id else { throw ConduitError.taken("username") }
                guard try await directory.user(.email, email) == id else { throw ConduitError.taken("email") }
            }
        } catch {
            try? await services.shards.node(for: id).transaction { db in try await db.execute("DELETE FROM users WHERE id = \(bind: id)") }
            try? await directory.release(.username, key, from: id)
            try? await directory.release(.email, email, from: id)
            throw error
        }
        await services.deliver(followUps)
        let token = try await services.tokens.issue(for: id, version: 0)
        return AuthenticatedUser(id: id, email: email, token: token, username: username, bio: nil, image: nil)
    }

    public func login(email emailInput: String?, password passwordInput: String?) async throws -> AuthenticatedUser {
        var validator = Validator()
        let email = validator.required("email", emailInput?.trimmingWhitespace(), Rules.email).lowercased()
        let password = InputText.normalized(passwordInput ?? "")
        if password.isEmpty {
            validator.add("password", "can't be blank")
        } else if password.utf8.contains(0) {
            validator.add("password", "may not contain NUL characters")  // bcrypt would stop at it
        }
        try validator.check()

        // Accounts made before input was normalised may hold the text as it was typed:
        // when it differs from its NFC form, that spelling is tried too.
        let typedEmail = InputText.typed(emailInput)?.trimmingWhitespace().lowercased()
        let typedPassword = InputText.typed(passwordInput)
        var id = try await services.directory.user(.email, email)
        if id == nil, let typedEmail { id = try await services.directory.user(.email, typedEmail) }
        // From the latest state: an account made a moment ago may not be on a replica yet.
        let user: UserRecord? = if let id {
            try await services.shards.node(for: id).readLatest { db in try await Self.user(where: "id = \(bind: id)", in: db) }
        } else {
            nil
        }
        // An unknown address is checked against a decoy hash of the configured cost, so
        // the time taken does not tell which addresses are registered.
        let hash = if let user { user.passwordHash } else { try await services.passwords.decoyHash() }
        var valid = try await services.passwords.verify(password, against: hash)
        if !valid, let typedPassword, typedPassword.utf8.count <= Rules.passwordMaxBytes {
            valid = try await services.passwords.verify(typedPassword, against: hash)
        }
        // bcrypt reads 72 bytes: a longer password would match on its first 72 alone.
        guard let user, valid, password.utf8.count <= Rules.passwordMaxBytes else { throw ConduitError.invalidCredentials }
        let token = try await services.tokens.issue(for: user.id, version: user.tokenVersion)
        return AuthenticatedUser(id: user.id, email: user.email, token: token, username: user.username, bio: user.bio, image: user.image)
    }

    /// The signed-in user, as `authenticate` found it.
    func current(_ credentials: Credentials, account user: CachedUser) -> AuthenticatedUser {
        AuthenticatedUser(id: credentials.user, email: user.email, token: credentials.token, username: user.username, bio: user.bio, image: user.image)
    }

    /// Users by id from the user cache; the missing ones in one query.
    func cached(_ ids: some Collection<Int64>) async throws -> [Int64: CachedUser] {
        let shards = services.shards
        if ids.count == 1, let id = ids.first {
            let user = try await services.caches.users.get(String(id)) {
                try await shards.node(for: FleetID(rawValue: id)).readLatest { db in try await Self.user(where: "id = \(bind: id)", in: db) }
                    .map(CachedUser.init)
            }
            return user.map { [id: $0] } ?? [:]
        }
        let found = try await services.caches.users.getMany(ids.map(String.init)) { keys in
            let groups = shards.partition(keys.compactMap { Int64($0) }) { FleetID(rawValue: $0) }
            let found = try await shards.scatter(groups.map(\.physical)) { physical, node in
                let ids = groups.first { $0.physical == physical }?.items ?? []
                return try await node.readLatest { db in
                    try await db.query("SELECT \(Self.columns) FROM users WHERE id IN (\(binds: ids))")
                        .map { row in CachedUser(try Self.record(from: row)) }
                }
            }
            return Dictionary(found.joined().map { (String($0.id), $0) }) { $1 }
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

    /// Changes the account of the user `credentials` authenticate. New credentials (a
    /// password or an e-mail address) revoke every other token of the user: the token
    /// that made the change is kept (the client making it stays signed in, everyone else
    /// must sign in again), or, for a token from before tokens had ids, a new one is
    /// returned.
    public func update(_ credentials: Credentials, with update: Update) async throws -> AuthenticatedUser {
        let id = credentials.user
        var validator = Validator()
        let email = update.email.isAbsent ? nil : Rules.email(update.email.value, into: &validator)
        let username = update.username.isAbsent ? nil : Rules.username(update.username.value, into: &validator)
        let password = update.password.isAbsent ? nil : Rules.password(update.password.value, into: &validator)
        let bio = Rules.optionalText("bio", update.bio.value, Rules.bio, into: &validator)
        let image = Rules.image(update.image.value, into: &validator)
        try validator.check()

        let hash: String? = if let password { try await services.passwords.hash(password) } else { nil }
        let now = services.now()
        let directory = services.directory
        let node = services.shards.node(for: id)
        // Every name the request sets is claimed first, even one the user seems to have
        // already (a concurrent rename may be taking it away: the claim renews it); names
        // the user gave up are released once the change is committed.
        var claimed: [(UserDirectory.Kind, String)] = []
        if let username { claimed.append((.username, username.lowercased())) }
        if let email { claimed.append((.email, email)) }
        do {
            for (kind, name) in claimed { try await directory.claim(kind, name, for: id, now: now) }
        } catch {
            for (kind, name) in claimed { try? await directory.release(kind, name, from: id) }
            throw error
        }
        let (before, after, stale): (UserRecord, UserRecord, AfterCommit?)
        let services = services
        do {
            (before, after, stale) = try await Self.mapUniqueViolation {
                try await node.transaction { db in
                    // Locked: of two concurrent updates, the second sees the first's names.
                    // The token is checked again under the lock: the check before the request
                    // read the cache, and another instance may have revoked it since (a
                    // token revoked a moment ago must not become the one that is kept).
                    guard var user = try await Self.user(where: "id = \(bind: id)\(unsafeSQL: db.dialect.forUpdate)", in: db),
                        Self.stands(credentials, tokenVersion: user.tokenVersion, tokenKeeper: user.tokenKeeper)
                    else { throw ConduitError.invalidToken }
                    let before = user
                    if let email { user.email = email }
                    if let username { user.username = username }
                    if let hash { user.passwordHash = hash }
                    if !update.bio.isAbsent { user.bio = bio }
                    if !update.image.isAbsent { user.image = image }
                    // New credentials revoke every token issued before them but this one.
                    if hash != nil || user.email != before.email {
                        user.tokenVersion += 1
                        user.tokenKeeper = credentials.tokenID
                    }
                    try await db.execute(
                        """
                        UPDATE users SET email = \(bind: user.email), username = \(bind: user.username),
                            username_key = \(bind: user.username.lowercased()), password_hash = \(bind: user.passwordHash),
                            bio = \(bind: user.bio), image = \(bind: user.image), token_version = \(bind: user.tokenVersion),
                            token_keeper = \(bind: user.tokenKeeper), updated_at = \(bind: now)
                        WHERE id = \(bind: id)
                        """
                    )
                    let changes = ConduitCaches.userChanged(id, oldName: before.username, newName: user.username)
                    return (before, user, try await services.invalidating(changes, owner: id, now: now, in: db))
                }
            }
        } catch {
            for (kind, name) in claimed { try? await directory.release(kind, name, from: id) }
            throw error
        }
        // Names given up; if this fails, the entries no longer count anyway.
        if before.username.lowercased() != after.username.lowercased() {
            try? await directory.release(.username, before.username.lowercased(), from: id)
        }
        if before.email != after.email { try? await directory.release(.email, before.email, from: id) }
        await services.deliver(stale)
        let current = after.tokenVersion == before.tokenVersion || credentials.tokenID != nil
            ? credentials.token : try await services.tokens.issue(for: id, version: after.tokenVersion)
        return AuthenticatedUser(id: id, email: after.email, token: current, username: after.username, bio: after.bio, image: after.image)
    }

    /// Revokes every token of a user (an operator's action, after a leak): raises the
    /// user's token version and keeps none, so every token issued before now is refused
    /// on every instance. The user signs in again. Returns false for an unknown username.
    public func revokeTokens(of username: String) async throws -> Bool {
        guard let id = try await services.profiles.userID(named: username) else { return false }
        let services = services
        let now = services.now()
        let stale = try await services.shards.node(for: id).transaction { db -> AfterCommit?? in
            let changed = try await db.query("UPDATE users SET token_version = token_version + 1, token_keeper = NULL WHERE id = \(bind: id) RETURNING id")
            guard !changed.isEmpty else { return nil }
            return .some(try await services.invalidating(ConduitCaches.userChanged(id, oldName: nil, newName: nil), owner: id, now: now, in: db))
        }
        guard let stale else { return false }
        await services.deliver(stale)
        return true
    }

    /// The user a token authenticates, if it still stands: its user exists and has not
    /// changed credentials (or had its tokens revoked) since it was issued, unless it is
    /// the token that made the change. From the user cache, which every such change
    /// invalidates on every instance.
    func authenticate(_ credentials: Credentials) async throws -> CachedUser? {
        guard let user = try await cached([credentials.user.rawValue])[credentials.user.rawValue] else { return nil }
        return Self.stands(credentials, tokenVersion: user.tokenVersion, tokenKeeper: user.tokenKeeper) ? user : nil
    }

    /// A token stands at the user's current version, or as the one token kept at the last
    /// change of credentials.
    static func stands(_ credentials: Credentials, tokenVersion: Int64, tokenKeeper: String?) -> Bool {
        credentials.version == tokenVersion || (credentials.tokenID != nil && credentials.tokenID == tokenKeeper)
    }

    // MARK: - Queries shared with other services

    static func user(where condition: SQLQuery, in db: any SQLExecutor) async throws -> UserRecord? {
        guard let row = try await db.first("SELECT \(columns) FROM users WHERE \(condition)") else { return nil }
        return try record(from: row)
    }

    /// The columns `record(from:)` reads, in its order.
    static let columns: SQLQuery = "id, username, email, password_hash, bio, image, token_version, token_keeper"

    static func record(from row: SQLRow) throws -> UserRecord {
        UserRecord(
            id: try row.decode(at: 0), username: try row.decode(at: 1), email: try row.decode(at: 2),
            passwordHash: try row.decode(at: 3), bio: try row.decode(at: 4), image: try row.decode(at: 5),
            tokenVersion: try row.decode(at: 6), tokenKeeper: try row.decode(at: 7)
        )
    }

    /// A concurrent sign-up can pass the check and still lose at the unique index.
    static func mapUniqueViolation<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as DatabaseError where error.code == .uniqueViolation {
            throw ConduitError.taken(error.message.contains("email") ? "email" : "username")
        }
    }

}

/// A field of a partial update: left out, set to null, or set to a value.
public enum Patch<Value: Sendable>: Sendable {
    case absent
    case null
    case value(Value)

    public var isAbsent: Bool { if case .absent = self { true } else { false } }
    public var value: Value? { if case .value(let value) = self { value } else { nil } }
}
