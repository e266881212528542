import FleetData
import FleetSupport

extension JobWorker {
    /// Until cancelled: releases expired leases and reports the queues' figures every
    /// maintenance interval, and deletes finished jobs past retention every retention
    /// interval. Every worker does it; each step is safe to run from several at once.
    func maintain() async {
        var lastRetention = ContinuousClock.now - configuration.retentionInterval
        var failing = false
        while !Task.isCancelled {
            let now = WallClock.microseconds()
            do {
                // Every queue this worker runs is reported, at zero when it is empty (a
                // gauge left at its last value would keep a scaler or an alert going).
                var totals = Dictionary(uniqueKeysWithValues: configuration.queues.keys.map { ($0, QueueStats(queue: $0)) })
                for node in databases {
                    try await store.releaseExpiredLeases(now: now, in: node)
                    for queue in try await store.stats(now: now, in: node) { totals[queue.queue, default: QueueStats(queue: queue.queue)].add(queue) }
                }
                metrics.report(Array(totals.values), now: now)
                if ContinuousClock.now - lastRetention >= configuration.retentionInterval {
                    lastRetention = .now
                    for node in databases { try await deleteFinished(in: node, now: now) }
                }
                if failing { logger.notice("job maintenance works again") }
                failing = false
            } catch {
                if !failing { logger.warning("job maintenance failed; retrying", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await Task.sleep(for: configuration.maintenanceInterval)
        }
    }

    /// Deletes finished jobs past retention in batches (each its own short transaction),
    /// so neither the table nor a lock grows with the backlog. Returns how many.
    @discardableResult
    func deleteFinished(in node: any Database, now: Int64) async throws -> Int {
        var deleted = 0
        for (state, kept) in [(JobState.completed, configuration.retention), (.dead, configuration.deadRetention)] {
            while !Task.isCancelled {
                let batch = try await store.deleteFinished(state, before: now - kept.inMicroseconds, limit: configuration.retentionBatch, in: node)
                deleted += batch
                if batch < configuration.retentionBatch { break }
                // Leaves room for the queues' own statements between batches.
                await Task.yield()
            }
        }
        return deleted
    }
}

extension QueueStats {
    mutating func add(_ other: QueueStats) {
        ready += other.ready
        scheduled += other.scheduled
        running += other.running
        dead += other.dead
        oldestReadyAt = [oldestReadyAt, other.oldestReadyAt].compactMap { $0 }.min()
    }
}
