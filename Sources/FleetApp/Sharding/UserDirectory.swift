import FleetData

/// Global uniqueness of usernames and e-mail addresses when users live on many shards.
///
/// Each name has one entry, on the logical shard the name hashes to, naming the user
/// that holds it. Signing up claims both names there first, then writes the user on its
/// own shard: two databases, no distributed transaction. An entry is valid only while
/// its user exists and still has that name, so whatever a crash leaves behind (a claim
/// whose user was never written, an old name after a rename) blocks nobody: the next
/// claim of that name takes the entry over once it is older than `grace`, the time a
/// sign-up in progress may take to write its user.
struct UserDirectory: Sendable {
    enum Kind: String, Sendable {
        case username
        case email

        /// The `users` column the name must match.
        var column: SQLQuery { self == .username ? "username_key" : "email" }
    }

    let shards: Shards
    /// How long a fresh claim is protected while its user is being written.
    static let grace: Int64 = 60_000

    private func node(for name: String) -> InstrumentedDatabase { shards.node(for: LogicalShard(hashing: name)) }

    /// The user holding `name`, if the entry is valid, from the latest state (a name
    /// claimed a moment ago may not be on a replica yet).
    func user(_ kind: Kind, _ name: String) async throws -> FleetID? {
        guard let holder = try await entry(kind, name)?.holder else { return nil }
        return try await holds(holder, kind, name) ? holder : nil
    }

    /// Whether `user` exists and has `name`, on its own shard.
    func holds(_ user: FleetID, _ kind: Kind, _ name: String) async throws -> Bool {
        try await shards.node(for: user).readLatest { db in
            try await db.first("SELECT 1 FROM users WHERE id = \(bind: user) AND \(kind.column) = \(bind: name)") != nil
        }
    }

    /// Whether `name` is free for `user` (free, already theirs, or held by an entry that
    /// no longer counts): the check made before spending a bcrypt hash.
    func isAvailable(_ kind: Kind, _ name: String, for user: FleetID?, now: Int64) async throws -> Bool {
        guard let entry = try await entry(kind, name) else { return true }
        return try await isReclaimable(entry, by: user, kind, name, now: now)
    }

    /// Makes `user` the holder of `name`, or throws `ConduitError.taken`. A claim of a name the
    /// user already holds renews it, which protects it for `grace` again.
    ///
    /// Every change is a compare-and-swap on the entry as it was read, and no connection is
    /// held while the holder's shard is asked whether the holder still has the name: a
    /// takeover fails if the entry changed meanwhile (its holder renewed it, or someone
    /// else took it), so two users never both get one name.
    func claim(_ kind: Kind, _ name: String, for user: FleetID, now: Int64) async throws {
        let node = node(for: name)
        guard let entry = try await entry(kind, name) else {
            do {
                try await node.transaction { db in
                    try await db.execute(
                        "INSERT INTO directory (kind, name, user_id, created_at) VALUES (\(bind: kind.rawValue), \(bind: name), \(bind: user), \(bind: now))"
                    )
                }
                return
            } catch let error as DatabaseError where error.code == .uniqueViolation {
                throw ConduitError.taken(kind.rawValue)  // a concurrent claim inserted first
            }
        }
        guard try await isReclaimable(entry, by: user, kind, name, now: now) else { throw ConduitError.taken(kind.rawValue) }
        let swapped = try await node.transaction { db in
            try await db.query(
                """
                UPDATE directory SET user_id = \(bind: user), created_at = \(bind: max(now, entry.since + 1))
                WHERE kind = \(bind: kind.rawValue) AND name = \(bind: name) AND user_id = \(bind: entry.holder) AND created_at = \(bind: entry.since)
                RETURNING user_id
                """
            )
        }
        if swapped.isEmpty { throw ConduitError.taken(kind.rawValue) }
    }

    /// Drops `name` from `user` once the user no longer has it (after a rename, or a sign-up
    /// that failed). Only the entry as read is dropped: a claim that renewed it meanwhile (a
    /// concurrent rename back) keeps it.
    func release(_ kind: Kind, _ name: String, from user: FleetID) async throws {
        guard let entry = try await entry(kind, name), entry.holder == user, try await !holds(user, kind, name) else { return }
        try await node(for: name).transaction { db in
            try await db.execute(
                """
                DELETE FROM directory WHERE kind = \(bind: kind.rawValue) AND name = \(bind: name)
                    AND user_id = \(bind: user) AND created_at = \(bind: entry.since)
                """
            )
        }
    }

    private func entry(_ kind: Kind, _ name: String) async throws -> (holder: FleetID, since: Int64)? {
        try await node(for: name).readLatest { db in
            guard let row = try await db.first(
                "SELECT user_id, created_at FROM directory WHERE kind = \(bind: kind.rawValue) AND name = \(bind: name)"
            ) else { return nil }
            return (try row.decode(at: 0), try row.decode(at: 1))
        }
    }

    private func isReclaimable(_ entry: (holder: FleetID, since: Int64), by user: FleetID?, _ kind: Kind, _ name: String, now: Int64) async throws -> Bool {
        if entry.holder == user { return true }
        if now - entry.since < Self.grace { return false }  // perhaps a sign-up still writing its user
        return try await !holds(entry.holder, kind, name)
    }
}
