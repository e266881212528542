import FleetData
import Foundation
import Logging
public import ServiceLifecycle

/// An edge between two users' data: a follow (follower → followee) or a favorite
/// (user → article). It is written on the shard of its `source`, which owns it; the shard
/// of its `target` keeps a mirror (and, for favorites, the article's count).
struct Edge: Codable, Sendable, Hashable {
    enum Kind: String, Codable, Sendable {
        case follow
        case favorite

        /// The owner's table and columns, and the table the target lives in.
        var table: SQLQuery { self == .follow ? "follows" : "favorites" }
        var sourceColumn: SQLQuery { self == .follow ? "follower_id" : "user_id" }
        var targetColumn: SQLQuery { self == .follow ? "followee_id" : "article_id" }
        var targetTable: SQLQuery { self == .follow ? "users" : "articles" }
    }

    var kind: Kind
    var source: Int64
    var target: Int64

    var sourceID: FleetID { FleetID(rawValue: source) }
    var targetID: FleetID { FleetID(rawValue: target) }
}

/// Keeps the far side of follows and favorites in line with the near side, across shards.
///
/// A change to an edge commits on the owner's shard together with an outbox row naming
/// the edge (`enqueue`). The request then reconciles the edge at once (`deliver`), and a
/// background sweep (`run`) reconciles any outbox row a crash or an unreachable shard left
/// behind: at least once. Reconciling does not replay an operation; it makes the mirror
/// match what the owner's shard says now, under a lock on the mirror, so applying it
/// twice, late or out of order changes nothing. An edge whose target is gone (a deleted
/// article) is removed from the owner's shard too.
///
/// The outbox rows are the shape the durable jobs system will take over: a topic, a JSON
/// payload, an idempotent handler.
public struct EdgeRelay: Sendable {
    let services: ConduitServices
    static let topic = "edge"

    private var shards: Shards { services.shards }

    /// Records, inside a transaction on the owner's shard, that `edge` changed; returns the
    /// outbox row's id (on the same logical shard as `owner`).
    static func enqueue(_ edge: Edge, owner: FleetID, ids: FleetIDGenerator, now: Int64, in db: any SQLExecutor) async throws -> FleetID {
        let id = ids.next(on: owner.shard)
        let payload = String(decoding: try JSONEncoder().encode(edge), as: UTF8.self)
        try await db.execute(
            "INSERT INTO outbox (id, topic, payload, created_at) VALUES (\(bind: id), \(bind: topic), \(bind: payload), \(bind: now))"
        )
        return id
    }

    /// Reconciles the edges of outbox rows just committed and removes the rows. Failures
    /// are left for the sweep: the change is committed, only its mirror is late.
    func deliver(_ queued: [(outbox: FleetID, edge: Edge)]) async {
        for (outbox, edge) in queued {
            do {
                try await reconcile(edge)
                try await shards.node(for: outbox).transaction { db in try await db.execute("DELETE FROM outbox WHERE id = \(bind: outbox)") }
            } catch {
                services.logger.warning(
                    "edge not mirrored yet; the outbox sweep will retry", metadata: ["edge": "\(edge)", "error": "\(error)"]
                )
            }
        }
    }

    /// Makes the target's shard agree with the owner's shard about `edge`.
    func reconcile(_ edge: Edge) async throws {
        let source = shards.node(for: edge.sourceID)
        let kind = edge.kind
        let (orphaned, changed) = try await shards.node(for: edge.targetID).transaction { db in
            if db.dialect == .postgres {
                // One reconciliation of an edge at a time: the owner is read under this lock.
                try await db.execute("SELECT pg_advisory_xact_lock(\(bind: Self.lockKey(edge)))")
            }
            let targetExists = try await db.first("SELECT 1 FROM \(kind.targetTable) WHERE id = \(bind: edge.target)") != nil
            let mirrored = try await db.first(
                "SELECT 1 FROM edge_mirror WHERE kind = \(bind: kind.rawValue) AND target_id = \(bind: edge.target) AND source_id = \(bind: edge.source)"
            ) != nil
            let owned = try await source.readLatest { owner in
                try await owner.first(
                    "SELECT 1 FROM \(kind.table) WHERE \(kind.sourceColumn) = \(bind: edge.source) AND \(kind.targetColumn) = \(bind: edge.target)"
                ) != nil
            }
            let present = owned && targetExists
            if present && !mirrored {
                try await db.execute(
                    "INSERT INTO edge_mirror (kind, target_id, source_id) VALUES (\(bind: kind.rawValue), \(bind: edge.target), \(bind: edge.source))"
                )
            } else if !present && mirrored {
                try await db.execute(
                    "DELETE FROM edge_mirror WHERE kind = \(bind: kind.rawValue) AND target_id = \(bind: edge.target) AND source_id = \(bind: edge.source)"
                )
            }
            if kind == .favorite, targetExists, present != mirrored {
                try await db.execute("UPDATE articles SET favorites_count = favorites_count + \(bind: present ? 1 : -1) WHERE id = \(bind: edge.target)")
            }
            return (owned && !targetExists, present != mirrored)
        }
        if orphaned {
            // The target is gone: so is the edge. After the commit above, which held a
            // write connection this may need (one SQLite file holds both sides).
            try await source.transaction { db in
                try await db.execute(
                    "DELETE FROM \(kind.table) WHERE \(kind.sourceColumn) = \(bind: edge.source) AND \(kind.targetColumn) = \(bind: edge.target)"
                )
            }
        }
        if kind == .favorite, changed || orphaned {
            await services.caches.articles.invalidate(edge.targetID.key)
            await services.caches.favoritedLists.invalidateAll()
        }
    }

    /// Reconciles outbox rows older than `age` on every reachable shard, a batch at a time;
    /// returns how many it completed.
    @discardableResult
    func sweep(olderThan age: Int64, batch: Int = 100) async -> Int {
        var done = 0
        for node in shards.nodes {
            do {
                let cutoff = services.now() - age
                let rows = try await node.readLatest { db in
                    try await db.query(
                        "SELECT id, payload FROM outbox WHERE topic = \(bind: Self.topic) AND created_at <= \(bind: cutoff) ORDER BY created_at LIMIT \(bind: batch)"
                    )
                }
                let queued = try rows.map { row in
                    (outbox: try row.decode(at: 0, as: FleetID.self), edge: try JSONDecoder().decode(Edge.self, from: Data(try row.decode(at: 1, as: String.self).utf8)))
                }
                for item in queued {
                    try await reconcile(item.edge)
                    try await node.transaction { db in try await db.execute("DELETE FROM outbox WHERE id = \(bind: item.outbox)") }
                    done += 1
                }
            } catch {
                services.logger.warning("outbox sweep failed on a shard; retrying later", metadata: ["error": "\(error)"])
            }
        }
        return done
    }

    /// A 64-bit lock key for an edge (FNV-1a over its parts).
    static func lockKey(_ edge: Edge) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(edge.kind.rawValue):\(edge.source):\(edge.target)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}

extension EdgeRelay: Service {
    /// Sweeps the outbox every second for rows their request did not complete (it
    /// crashed, or a shard was down). Rows younger than two seconds are left to their
    /// request.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: .seconds(1))
                    await sweep(olderThan: 2_000)
                }
            }
        } catch is CancellationError {
            // Shutting down: whatever is left is swept by the next instance to run.
        }
    }
}
