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
/// match what the owner's shard says now (see `reconcile`), so applying it
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

    /// Reconciles the edges of outbox rows just committed and removes the rows. After a
    /// failure the rest are left for the sweep too (a shard is likely down, and the request
    /// must not wait a timeout per edge): the change is committed, only its mirror is late.
    func deliver(_ queued: [(outbox: FleetID, edge: Edge)]) async {
        for (outbox, edge) in queued {
            do {
                try await complete(outbox, edge)
            } catch {
                services.logger.warning(
                    "edge not mirrored yet; the outbox sweep will retry", metadata: ["edge": "\(edge)", "error": "\(error)"]
                )
                return
            }
        }
    }

    /// Reconciles an outbox row's edge and removes the row, within the shards' timeout (a
    /// shard that does not answer must not hold up the request or the sweep).
    private func complete(_ outbox: FleetID, _ edge: Edge) async throws {
        try await shards.bounded {
            try await reconcile(edge)
            try await shards.node(for: outbox).transaction { db in try await db.execute("DELETE FROM outbox WHERE id = \(bind: outbox)") }
        }
    }

    /// Makes the target's shard agree with the owner's shard about `edge`.
    ///
    /// The owner's state is read first, then applied to the mirror in a transaction that
    /// changes the count only if it changes the mirror row (so concurrent applications
    /// count once), then read again: if it moved meanwhile, a concurrent reconciliation
    /// may have applied an older state after a newer one, so it goes round again. Whoever
    /// commits last has therefore seen the owner's final state. Never holds a connection to
    /// one shard while waiting for another (one pool may serve both).
    func reconcile(_ edge: Edge) async throws {
        let source = shards.node(for: edge.sourceID)
        let kind = edge.kind
        let owned: @Sendable (any SQLExecutor) async throws -> Bool = { owner in
            try await owner.first(
                "SELECT 1 FROM \(kind.table) WHERE \(kind.sourceColumn) = \(bind: edge.source) AND \(kind.targetColumn) = \(bind: edge.target)"
            ) != nil
        }
        for _ in 0..<Self.attempts {
            let truth = try await source.readLatest(owned)
            let targetExists = try await shards.node(for: edge.targetID).transaction { db in
                // Locked: an article delete waits for this to commit (and then sees its
                // mirror row), or this waits for the delete (and sees the article gone).
                // Exclusive, not shared: two reconciliations that both held a shared lock
                // would deadlock on the count update below.
                let targetExists = try await db.first(
                    "SELECT 1 FROM \(kind.targetTable) WHERE id = \(bind: edge.target)\(unsafeSQL: db.dialect.forUpdate)"
                ) != nil
                let present = truth && targetExists
                let changed = present
                    ? try await db.query(
                        """
                        INSERT INTO edge_mirror (kind, target_id, source_id) VALUES (\(bind: kind.rawValue), \(bind: edge.target), \(bind: edge.source))
                        ON CONFLICT DO NOTHING RETURNING source_id
                        """
                    )
                    : try await db.query(
                        """
                        DELETE FROM edge_mirror WHERE kind = \(bind: kind.rawValue) AND target_id = \(bind: edge.target) AND source_id = \(bind: edge.source)
                        RETURNING source_id
                        """
                    )
                if kind == .favorite, targetExists, !changed.isEmpty {
                    try await db.execute("UPDATE articles SET favorites_count = favorites_count + \(bind: present ? 1 : -1) WHERE id = \(bind: edge.target)")
                }
                return targetExists
            }
            if truth && !targetExists {
                // The target is gone (a deleted article): so is the edge.
                try await source.transaction { db in
                    try await db.execute(
                        "DELETE FROM \(kind.table) WHERE \(kind.sourceColumn) = \(bind: edge.source) AND \(kind.targetColumn) = \(bind: edge.target)"
                    )
                }
            }
            // Also when nothing changed: an earlier delivery may have committed the count
            // and been cut off (the shards' timeout) before it invalidated the cache.
            if kind == .favorite {
                await services.caches.articles.invalidate(edge.targetID.key)
                await services.caches.favoritedLists.invalidateAll()
            }
            if try await source.readLatest(owned) == (truth && targetExists) { return }
        }
        throw EdgeRelayError(edge: edge)
    }

    /// Rounds of `reconcile` before leaving an edge that keeps changing to the sweep.
    static let attempts = 5

    /// Reconciles outbox rows older than `age` on every reachable shard, a batch at a time;
    /// returns how many it completed. A row that fails (its target's shard is down) is
    /// skipped until the next round, and does not hold up the others.
    @discardableResult
    func sweep(olderThan age: Int64, batch: Int = 500) async -> Int {
        var done = 0
        for (index, node) in shards.nodes.enumerated() {
            let queued: [(outbox: FleetID, edge: Edge)]
            do {
                let cutoff = services.now() - age
                let rows = try await shards.bounded {
                    try await node.readLatest { db in
                        try await db.query(
                            "SELECT id, payload FROM outbox WHERE topic = \(bind: Self.topic) AND created_at <= \(bind: cutoff) ORDER BY created_at LIMIT \(bind: batch)"
                        )
                    }
                }
                queued = try rows.map { row in
                    (outbox: try row.decode(at: 0, as: FleetID.self), edge: try JSONDecoder().decode(Edge.self, from: Data(try row.decode(at: 1, as: String.self).utf8)))
                }
            } catch {
                services.logger.warning("outbox sweep cannot read a shard; retrying later", metadata: ["error": "\(error)"])
                continue
            }
            // A shard that fails once this round is not tried again until the next.
            var failing: Set<Int> = []
            for (outbox, edge) in queued {
                let other = [edge.sourceID, edge.targetID].map { shards.physical(for: $0.shard) }.first { $0 != index } ?? index
                guard !failing.contains(other) else { continue }
                do {
                    try await complete(outbox, edge)
                    done += 1
                } catch {
                    failing.insert(other)
                    services.logger.warning("outbox row not completed; retrying later", metadata: ["edge": "\(edge)", "error": "\(error)"])
                }
            }
        }
        return done
    }
}

/// An edge that kept changing while being mirrored: left for the outbox sweep.
struct EdgeRelayError: Error, CustomStringConvertible {
    let edge: Edge
    var description: String { "edge \(edge) kept changing while being mirrored; left for the outbox sweep" }
}

extension EdgeRelay: Service {
    /// Sweeps the outbox every second for rows their request did not complete (it
    /// crashed, or a shard was down). Rows younger than ten seconds are left to their
    /// request, which gives up on them after the shards' timeout.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await Task.sleep(for: .seconds(1))
                    await sweep(olderThan: 10_000)
                }
            }
        } catch is CancellationError {
            // Shutting down: whatever is left is swept by the next instance to run.
        }
    }
}
