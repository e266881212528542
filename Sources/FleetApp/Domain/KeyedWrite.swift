import Crypto
import FleetData
import FleetSupport

/// A create sent with an `IdempotencyKey`: recorded in the create's own transaction, on
/// the shard the create writes to, so that the record exists exactly when the created
/// row does. A request that comes again with the key finds the record and answers with
/// what the first one created; nothing is created twice, however the first one ended
/// (answered, or its instance killed after the commit and before the answer).
///
/// Keys belong to a user and live `lifetime` (long past any retry), then
/// `KeyedWriteRetention` deletes them. `fleet shard-move` does not copy them: a request
/// retried across the move of its target's shard may create again.
struct KeyedWrite: Sendable {
    let user: FleetID
    let key: IdempotencyKey
    /// What the request asked for: SHA-256 of its validated fields. The same key with
    /// another request is a client's bug, refused (422) rather than answered with the
    /// first request's result.
    let fingerprint: String

    /// How long a key is honoured.
    static let lifetime: Duration = .seconds(24 * 3600)

    init(user: FleetID, key: IdempotencyKey, request fields: [String]) {
        self.user = user
        self.key = key
        var hash = SHA256()
        for var field in fields {
            // Length-prefixed, so that ["ab", "c"] and ["a", "bc"] differ; hashed in place
            // (an article's body may be 400 kB).
            withUnsafeBytes(of: UInt64(field.utf8.count).littleEndian) { hash.update(bufferPointer: $0) }
            field.withUTF8 { hash.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        }
        fingerprint = hash.finalize().hex
    }

    /// What a keyed create's transaction ends with: what it made, or the row id an earlier
    /// request with the key made (and nothing written).
    enum Outcome<Made: Sendable>: Sendable {
        case made(Made)
        case earlier(Int64)
    }

    /// Runs a create's transaction on `node`, keyed or not (`keyed` nil). Keyed, its first
    /// statement claims the key for `resource`, the row `body` creates; when an earlier
    /// request holds the key, `body` does not run and the outcome names that request's row.
    static func transaction<Made: Sendable>(
        _ keyed: KeyedWrite?, creating resource: Int64, now: Int64, on node: InstrumentedDatabase,
        _ body: @Sendable (any SQLExecutor) async throws -> Made
    ) async throws -> Outcome<Made> {
        let outcome = try await node.transaction { db -> Outcome<Made> in
            if let earlier = try await keyed?.claim(resource, now: now, in: db) { return .earlier(earlier) }
            return .made(try await body(db))
        }
        // For tests: die with a keyed create committed and not answered, as an instance
        // killed at that instant would (the load balancer then sends it again).
        if keyed != nil, case .made = outcome { Failpoint.check("keyed-write.committed") }
        return outcome
    }

    /// Claims the key for `resource`, the row this request is about to create, as the
    /// first statement of its transaction; or, when an earlier request holds the key,
    /// returns the row that one created (and this request creates nothing). Throws (422)
    /// when that request asked for something else. A copy arriving while the first one's
    /// transaction is open waits for it on PostgreSQL (the key's row is locked), then
    /// finds its record; SQLite runs one transaction at a time.
    private func claim(_ resource: Int64, now: Int64, in db: any SQLExecutor) async throws -> Int64? {
        let claimed = try await db.first(
            """
            INSERT INTO idempotency_keys (user_id, client_key, fingerprint, resource_id, created_at)
            VALUES (\(bind: user), \(bind: key.text), \(bind: fingerprint), \(bind: resource), \(bind: now))
            ON CONFLICT (user_id, client_key) DO NOTHING RETURNING resource_id
            """
        )
        if claimed != nil { return nil }
        guard let row = try await db.first(
            "SELECT fingerprint, resource_id FROM idempotency_keys WHERE user_id = \(bind: user) AND client_key = \(bind: key.text)"
        ) else {
            // Held a moment ago and deleted since: only a key expiring at this instant.
            throw ConduitError(.conflict, field: IdempotencyKey.field, "expired while in use; send the request again")
        }
        guard try row.decode(at: 0, as: String.self) == fingerprint else {
            throw ConduitError(.invalid, field: IdempotencyKey.field, "was already used for a different request")
        }
        return try row.decode(at: 1)
    }

    /// Deletes the keys past `lifetime` on every physical shard; a shard that fails does
    /// not keep the others from it (the first failure is thrown at the end).
    static func expire(in shards: Shards, now: Int64) async throws {
        let cutoff = now - lifetime.inMilliseconds
        var failure: (any Error)?
        for node in shards.nodes {
            do {
                try await node.transaction { db in try await db.execute("DELETE FROM idempotency_keys WHERE created_at < \(bind: cutoff)") }
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }
}
