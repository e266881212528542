import FleetData
import Foundation
import Logging

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
/// A change to an edge commits on the owner's shard together with an `edge.reconcile` job
/// (`enqueue`), due a little later. The request then reconciles the edge at once
/// (`ConduitServices.deliver`) and marks the job done; if it could not (a crash, a shard
/// down), a worker runs the job: at least once. Reconciling does not replay an operation; it makes the
/// mirror match what the owner's shard says now (see `reconcile`), so applying it twice,
/// late or out of order changes nothing. An edge whose target is gone (a deleted
/// article) is removed from the owner's shard too.
public struct EdgeRelay: Sendable {
    let services: ConduitServices

    private var shards: Shards { services.shards }

    /// Records, inside a transaction on the owner's shard, that `edge` changed (`now` in
    /// milliseconds); the request reconciles it once committed (`ConduitServices.deliver`).
    func enqueue(_ edge: Edge, owner: FleetID, now: Int64, in db: any SQLExecutor) async throws -> AfterCommit? {
        try await AfterCommit.enqueue(ConduitJobs.edge, edge, owner: owner, now: now, in: db) { try await reconcile(edge) }
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
                if targetExists, !changed.isEmpty {
                    let counter: SQLQuery = kind == .favorite ? "articles SET favorites_count = favorites_count" : "users SET followers_count = followers_count"
                    try await db.execute("UPDATE \(counter) + \(bind: present ? 1 : -1) WHERE id = \(bind: edge.target)")
                }
                return targetExists
            }
            if truth && !targetExists {
                // The target is gone (a deleted article): so is the edge, and the
                // recommender's model hears of a favorite gone, as of an unfavorite.
                let now = services.now()
                try await source.transaction { db in
                    let removed = try await db.query(
                        """
                        DELETE FROM \(kind.table) WHERE \(kind.sourceColumn) = \(bind: edge.source) AND \(kind.targetColumn) = \(bind: edge.target)
                        RETURNING \(kind.targetColumn)
                        """
                    )
                    guard kind == .favorite, !removed.isEmpty else { return }
                    _ = try await AfterCommit.enqueue(
                        ConduitJobs.recommendFavorite, FavoriteEvent(user: edge.source, article: edge.target, favorited: false),
                        owner: edge.sourceID, now: now, in: db, inline: nil
                    )
                }
            }
            // A follow's timeline: the author's articles in or out (also when nothing
            // changed: an earlier delivery may have been cut off before this step).
            if kind == .follow { try await services.timelines.follow(edge, present: truth && targetExists) }
            // Also when nothing changed: an earlier delivery may have committed the count
            // and been cut off (the shards' timeout) before it invalidated the cache.
            if kind == .favorite { try await services.caches.apply(ConduitCaches.favoritesChanged(edge.targetID)) }
            if try await source.readLatest(owned) == (truth && targetExists) { return }
        }
        throw EdgeRelayError(edge: edge)
    }

    /// Rounds of `reconcile` before leaving an edge that keeps changing to its job's retry.
    static let attempts = 5
}

/// An edge that kept changing while being mirrored: its job retries it.
struct EdgeRelayError: Error, CustomStringConvertible {
    let edge: Edge
    var description: String { "edge \(edge) kept changing while being mirrored; its job retries it" }
}
