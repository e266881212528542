import FleetData
import FleetJobs
import FleetSupport
import Foundation
import Logging
import MetricsTestKit
import ServiceLifecycle
import Synchronization
import Testing

/// What a handler saw, shared with the test.
final class Probe: Sendable {
    private let state = Mutex((running: 0, most: 0, runs: [String: Int](), order: [String]()))

    func enter(_ key: String) {
        state.withLock {
            $0.running += 1
            $0.most = max($0.most, $0.running)
            $0.runs[key, default: 0] += 1
            $0.order.append(key)
        }
    }

    func leave() { state.withLock { $0.running -= 1 } }
    var most: Int { state.withLock { $0.most } }
    var runs: [String: Int] { state.withLock { $0.runs } }
    var total: Int { state.withLock { $0.runs.values.reduce(0, +) } }
}

struct Work: Codable, Sendable {
    var key: String
    var sleep: Int = 0
}

/// Runs a worker over `database` as a service until `body` returns, then shuts it down
/// gracefully (as SIGTERM would) and waits for it to stop.
func withWorker<T: Sendable>(
    _ database: any Database, handlers: JobHandlers, configuration: JobWorkerConfiguration, metrics: TestMetrics = TestMetrics(),
    _ body: @Sendable (JobWorker) async throws -> T
) async throws -> T {
    let worker = JobWorker(databases: [database], handlers: handlers, configuration: configuration, logger: Logger(label: "test"), metrics: metrics)
    let group = ServiceGroup(configuration: .init(services: [.init(service: worker)], logger: Logger(label: "test")))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body(worker)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            tasks.cancelAll()
            throw error
        }
    }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: @Sendable () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

func count(_ state: JobState, in database: some Database) async throws -> Int {
    let row = try await database.read { try await $0.first("SELECT COUNT(*) FROM jobs WHERE state = \(bind: state.rawValue)") }
    return try row?.decode(at: 0, as: Int.self) ?? 0
}

@Suite struct JobWorkerTests {
    static let work = JobType<Work>("work", queue: "q", retry: RetryPolicy(maxAttempts: 3, base: .milliseconds(10), cap: .milliseconds(20)))

    /// Jobs that die at their first failure.
    static let fragile = JobType<Work>("work", queue: "q", retry: RetryPolicy(maxAttempts: 1))

    /// Enqueues at `now` (the wall clock when nil: what a running worker sees).
    func enqueue(_ payloads: [Work], as type: JobType<Work> = Self.work, in database: some Database, now: Int64? = nil, runAt: Int64? = nil) async throws {
        try await database.transaction { db in
            for payload in payloads { try await JobStore().enqueue(try type.make(payload, runAt: runAt), now: now ?? WallClock.microseconds(), in: db) }
        }
    }

    /// Handlers that record each run in `probe` and sleep as long as the payload says.
    static func sleeping(_ probe: Probe) -> JobHandlers {
        var handlers = JobHandlers()
        handlers.register(work) { work, _ in
            probe.enter(work.key)
            defer { probe.leave() }
            try await Task.sleep(for: .milliseconds(work.sleep))
            return .completed
        }
        return handlers
    }

    func fast(_ concurrency: Int = 2) -> JobWorkerConfiguration {
        var configuration = JobWorkerConfiguration(queues: ["q": concurrency])
        configuration.pollInterval = .milliseconds(50)
        configuration.maintenanceInterval = .milliseconds(50)
        return configuration
    }

    @Test func everyJobRunsOnceWithinTheQueuesConcurrency() async throws {
        try await withJobs { database in
            let probe = Probe()
            let handlers = Self.sleeping(probe)
            try await enqueue((0..<24).map { Work(key: "\($0)", sleep: 20) }, in: database)
            try await withWorker(database, handlers: handlers, configuration: fast(3)) { _ in
                // About 0.2 s of work; 30 s because the whole suite shares two cores. Two CI
                // runs on SQLite did not finish within 10 s, never reproduced here: say how
                // far it got if it happens again.
                let done = try await eventually(30) { try await count(.completed, in: database) == 24 }
                if !done {
                    let completed = try await count(.completed, in: database)
                    Issue.record("completed \(completed) of 24; handlers ran \(probe.runs.count), at most \(probe.most) at once")
                }
                try #require(done)
            }
            #expect(probe.runs.count == 24 && probe.runs.values.allSatisfy { $0 == 1 })
            #expect(probe.most == 3)
        }
    }

    @Test func aHeartbeatKeepsALongJobsLease() async throws {
        try await withJobs { database in
            let probe = Probe()
            let handlers = Self.sleeping(probe)
            var configuration = fast()
            // Generous margins: the whole suite runs at once on two cores, and a renewal may
            // wait seconds for a thread.
            configuration.lease = .seconds(4)
            configuration.heartbeat = .milliseconds(400)
            try await enqueue([Work(key: "long", sleep: 9000)], in: database)
            try await withWorker(database, handlers: handlers, configuration: configuration) { _ in
                try #require(try await eventually(40) { try await count(.completed, in: database) == 1 })
            }
            // More than two leases long, and the maintenance loop released nothing meanwhile.
            #expect(probe.runs == ["long": 1])
        }
    }

    @Test func failuresAreRetriedThenDeadWithTheirLastError() async throws {
        try await withJobs { database in
            struct Broken: Error, CustomStringConvertible { var description: String { "the mail server said no" } }
            var handlers = JobHandlers()
            handlers.register(Self.work) { _, _ in throw Broken() }
            try await enqueue([Work(key: "x")], in: database)
            try await withWorker(database, handlers: handlers, configuration: fast()) { _ in
                try #require(try await eventually { try await count(.dead, in: database) == 1 })
            }
            let dead = try await JobStore().dead(limit: 10, in: database)
            #expect(dead.count == 1 && dead.first?.attempt == 3 && dead.first?.lastError == "the mail server said no")
        }
    }

    @Test func aSnoozedJobRunsAgainLaterWithoutSpendingAnAttempt() async throws {
        try await withJobs { database in
            let probe = Probe()
            var handlers = JobHandlers()
            handlers.register(Self.work) { work, job in
                probe.enter(work.key)
                #expect(job.attempt == 1)
                return probe.total < 4 ? .snooze(.milliseconds(30)) : .completed
            }
            try await enqueue([Work(key: "later")], in: database)
            try await withWorker(database, handlers: handlers, configuration: fast()) { _ in
                try #require(try await eventually { try await count(.completed, in: database) == 1 })
            }
            #expect(probe.runs == ["later": 4])
        }
    }

    /// SIGTERM: a job that finishes within the grace period completes; one that does not
    /// is cancelled and goes back to the queue with its attempt unspent. Nothing is lost
    /// and nothing that finished runs again.
    @Test func aGracefulShutdownDrainsThenReleases() async throws {
        try await withJobs { database in
            let probe = Probe()
            let handlers = Self.sleeping(probe)
            var configuration = fast()
            configuration.grace = .milliseconds(500)
            try await enqueue([Work(key: "quick", sleep: 200), Work(key: "slow", sleep: 60_000)], in: database)
            try await withWorker(database, handlers: handlers, configuration: configuration) { _ in
                try #require(try await eventually { probe.total == 2 })
            }
            #expect(try await count(.completed, in: database) == 1)
            let left = try await database.read { try await $0.first("SELECT state, attempt, lease_token FROM jobs WHERE payload LIKE '%slow%'") }
            #expect(try left?.decode(at: 0, as: String.self) == "available")
            #expect(try left?.decode(at: 1, as: Int.self) == 0)
            #expect(try left?.decode(at: 2, as: String?.self) == nil)
        }
    }

    /// The wake-up path (an in-process signal on SQLite, NOTIFY on PostgreSQL) starts a job
    /// long before the poll interval would.
    @Test func anEnqueuedJobWakesTheWorker() async throws {
        try await withJobs { database in
            let probe = Probe()
            var handlers = JobHandlers()
            handlers.register(Self.work) { work, _ in
                probe.enter(work.key)
                return .completed
            }
            var configuration = fast()
            configuration.pollInterval = .seconds(30)
            try await withWorker(database, handlers: handlers, configuration: configuration) { worker in
                // Let the queue loop find nothing and go to sleep.
                try await Task.sleep(for: .milliseconds(300))
                let started = ContinuousClock.now
                try await enqueue([Work(key: "now")], in: database)
                if database.dialect == .sqlite { worker.notify(queue: "q") }
                try #require(try await eventually(5) { probe.total == 1 })
                #expect(ContinuousClock.now - started < .seconds(5))
            }
        }
    }

    /// A job whose worker keeps dying (its lease keeps expiring) ends up dead instead of
    /// taking down every worker in turn forever.
    @Test func aPoisonPillDies() async throws {
        try await withJobs { database in
            let store = JobStore()
            try await enqueue([Work(key: "pill")], in: database, now: 0)
            for attempt in 1...3 {
                let claimed = try await store.claim(queue: "q", limit: 1, lease: .milliseconds(1), now: Int64(attempt) * 1_000_000, in: database)
                #expect(claimed.count == 1)
                try await store.releaseExpiredLeases(now: Int64(attempt) * 1_000_000 + 10_000, in: database)
            }
            #expect(try await count(.dead, in: database) == 1)
        }
    }

    @Test func finishedJobsPastRetentionAreDeletedInBatches() async throws {
        try await withJobs { database in
            let store = JobStore()
            try await enqueue((0..<25).map { Work(key: "\($0)") }, as: Self.fragile, in: database, now: 0)
            let claimed = try await store.claim(queue: "q", limit: 25, lease: .seconds(30), now: 1, in: database)
            for job in claimed.prefix(20) { try await store.complete(job, now: 100, in: database) }
            for job in claimed.suffix(5) { try await store.fail(job, error: "no", policy: RetryPolicy(maxAttempts: 1), now: 100, in: database) }
            var deleted: [Int] = []
            while true {
                let batch = try await store.deleteFinished(.completed, before: 101, limit: 8, in: database)
                deleted.append(batch)
                if batch < 8 { break }
            }
            #expect(deleted == [8, 8, 4])
            #expect(try await store.deleteFinished(.dead, before: 100, limit: 8, in: database) == 0)
            #expect(try await count(.dead, in: database) == 5)
        }
    }

    /// What autoscaling and alerts read: outcomes, durations, delays, and queue gauges that
    /// go back to zero once the queue is empty.
    @Test func metricsCountOutcomesAndGaugesReturnToZero() async throws {
        try await withJobs { database in
            var handlers = JobHandlers()
            handlers.register(Self.fragile) { work, _ in
                if work.key == "bad" { throw CancellationError() }
                return .completed
            }
            let metrics = TestMetrics()
            try await enqueue([Work(key: "a"), Work(key: "b"), Work(key: "bad")], as: Self.fragile, in: database)
            try await withWorker(database, handlers: handlers, configuration: fast(), metrics: metrics) { _ in
                try #require(try await eventually {
                    let completed = try await count(.completed, in: database)
                    let dead = try await count(.dead, in: database)
                    return completed == 2 && dead == 1
                })
                // The maintenance loop reports the queue as it is now.
                let queue = [("messaging.system", "fleet"), ("messaging.destination.name", "q")]
                try #require(try await eventually {
                    (try? metrics.expectGauge("fleet.jobs.ready", queue).lastValue) == 0
                        && (try? metrics.expectGauge("fleet.jobs.dead", queue).lastValue) == 1
                })
            }
            let labels = [("messaging.system", "fleet"), ("messaging.destination.name", "q"), ("messaging.operation.name", "process"), ("fleet.job.name", "work")]
            #expect(try metrics.expectCounter("messaging.client.consumed.messages", labels + [("fleet.job.outcome", "completed")]).totalValue == 2)
            #expect(try metrics.expectCounter("messaging.client.consumed.messages", labels + [("fleet.job.outcome", "dead")]).totalValue == 1)
            #expect(try metrics.expectTimer("messaging.process.duration", labels).values.count == 3)
            #expect(try metrics.expectTimer("fleet.jobs.start.delay", [("messaging.system", "fleet"), ("messaging.destination.name", "q")]).values.count == 3)
        }
    }

    @Test func operatorsSeeStatsAndRetryOrDiscardDeadJobs() async throws {
        try await withJobs { database in
            let store = JobStore()
            try await enqueue([Work(key: "a"), Work(key: "b"), Work(key: "c")], as: Self.fragile, in: database, now: 0, runAt: 1_000)
            try await enqueue([Work(key: "later")], in: database, now: 0, runAt: 9_000_000)
            let claimed = try await store.claim(queue: "q", limit: 2, lease: .seconds(30), now: 2_000, in: database)
            try await store.fail(claimed[0], error: "boom", policy: RetryPolicy(maxAttempts: 1), now: 3_000, in: database)
            let stats = try await store.stats(now: 5_000, in: database)
            #expect(stats.count == 1)
            #expect(stats.first.map { [$0.ready, $0.scheduled, $0.running, $0.dead] } == [1, 1, 1, 1])
            #expect(stats.first?.oldestReadyAge(now: 1_001_000) == 1)
            let dead = try #require(try await store.dead(limit: 10, in: database).first)
            try await store.retry(dead.id, now: 6_000, in: database)
            #expect(try await count(.dead, in: database) == 0)
            await #expect(throws: JobError.self) { try await store.retry(claimed[1].id, now: 6_000, in: database) }
            try await store.discard(dead.id, in: database)
            await #expect(throws: JobError.self) { try await store.discard(dead.id, in: database) }
        }
    }
}
