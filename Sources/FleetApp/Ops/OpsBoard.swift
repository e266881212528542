import FleetCache
import FleetData
import FleetJobs
public import FleetObservability
import FleetRedis
public import FleetResilience
import FleetSupport
import Foundation
public import Logging
import Synchronization

/// Gathers what the ops page shows (`OpsData`) from the parts of a running process:
/// the route recorder, the caches, Redis, the shards and their pools, the job queues,
/// the breakers and the load-shedding limiter. Reading it costs a few atomic loads and
/// locks, one query per shard for the queues and one for dead jobs, and a Redis PING;
/// nothing is read unless someone looks, except one sample every `sampleInterval` for
/// the sparklines (`run()`, see `OpsBoard+sampling.swift`).
public final class OpsBoard: Sendable {
    /// Requests by route on the API listener; nil in a role without one (a worker).
    public let recorder: RouteRecorder?
    let limiter: AdaptiveLimiter?
    let services: ConduitServices
    let breakers: CircuitBreakers
    let redis: RedisServices?
    let settings: FleetSettings
    let logger: Logger
    let history: RollingHistory<OpsData.Sample>
    let sampleInterval: Duration
    let identity: OpsData.Instance

    /// - Parameters:
    ///   - sampleInterval, historyLength: one sample every 5 s for 10 minutes by default.
    public init(
        role: FleetRole, settings: FleetSettings, services: ConduitServices, breakers: CircuitBreakers, redis: RedisServices?,
        recorder: RouteRecorder?, limiter: AdaptiveLimiter?, logger: Logger, sampleInterval: Duration = .seconds(5), historyLength: Int = 120
    ) {
        self.recorder = recorder
        self.limiter = limiter
        self.services = services
        self.breakers = breakers
        self.redis = redis
        self.settings = settings
        self.logger = logger
        self.history = RollingHistory(capacity: historyLength)
        self.sampleInterval = sampleInterval
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        // A second application in one process (tests of two instances) gets a suffix.
        let ordinal = Self.made.add(1, ordering: .relaxed).newValue
        let now = WallClock.milliseconds()
        self.identity = OpsData.Instance(
            id: ordinal == 1 ? "\(host)/\(pid)" : "\(host)/\(pid)#\(ordinal)", role: "\(role)", address: "\(settings.httpHost):\(settings.httpPort)", startedAt: now, lastSeen: now,
            rate: 0, p99: 0, errorRate: 0
        )
    }

    var shards: Shards { services.shards }

    /// Boards made in this process so far.
    private static let made = Atomic<Int>(0)

    /// Everything the page shows now, with the history kept so far.
    public func data() async -> OpsData {
        let now = WallClock.milliseconds()
        var problems: [String] = []
        let (routes, traffic) = self.traffic()
        async let ping = pingRedis()
        let (queues, failedShards) = await queueStats()
        let dead = await deadJobs(problems: &problems)
        problems += failedShards.sorted().map { "shard \($0): the queues could not be read" }
        var me = identity
        me.lastSeen = now
        me.rate = traffic.rate
        me.p99 = traffic.p99
        me.errorRate = traffic.errorRate
        let redisState = OpsData.Redis(
            configured: redis != nil, connected: redis?.client.isConnected ?? false, breaker: redis?.client.breaker.phase.rawValue ?? "none",
            pingMilliseconds: await ping
        )
        let limit = limiter?.current
        return OpsData(
            generatedAt: now, instance: me, instances: await instances(including: me), traffic: traffic, routes: routes, caches: caches(),
            redis: redisState, shards: shardNodes(failed: failedShards), pools: pools(), queues: queues, deadJobs: dead,
            breakers: breakerStates(), limiter: .init(enabled: limiter != nil, limit: limit?.limit ?? 0, inFlight: limit?.inFlight ?? 0),
            actionsEnabled: settings.opsAdminToken != nil, problems: problems, history: history.samples
        )
    }

    func traffic() -> ([OpsData.Route], OpsData.Traffic) {
        guard let recorder else {
            return ([], OpsData.Traffic(windowSeconds: 0, requests: 0, totalRequests: 0, rate: 0, errorRate: 0, p50: 0, p95: 0, p99: 0))
        }
        let (byRoute, all) = recorder.snapshot()
        let routes = byRoute.sorted { $0.key < $1.key }.map { key, summary in
            OpsData.Route(
                route: key.description, requests: summary.requests, totalRequests: summary.totalRequests,
                totalServerErrors: summary.totalServerErrors, serverErrors: summary.serverErrors,
                clientErrors: summary.clientErrors, rate: summary.rate, errorRate: summary.errorRate, p50: summary.p50, p95: summary.p95,
                p99: summary.p99
            )
        }
        let traffic = OpsData.Traffic(
            windowSeconds: all.seconds, requests: all.requests, totalRequests: all.totalRequests, rate: all.rate, errorRate: all.errorRate,
            p50: all.p50, p95: all.p95, p99: all.p99
        )
        return (routes, traffic)
    }

    func caches() -> [OpsData.CacheLayer] {
        services.caches.stats.flatMap { cache, stats in
            var layers = [OpsData.CacheLayer(cache: cache, layer: "l1", hits: stats.l1.hits, misses: stats.l1.misses, hitRatio: stats.l1.hitRatio)]
            if redis != nil {
                layers.append(OpsData.CacheLayer(cache: cache, layer: "l2", hits: stats.l2.hits, misses: stats.l2.misses, hitRatio: stats.l2.hitRatio))
            }
            return layers
        }
    }

    /// A PING's round trip in milliseconds, nil without Redis or an answer.
    func pingRedis() async -> Double? {
        guard let redis else { return nil }
        let started = ContinuousClock.now
        guard (try? await redis.client.send(RedisCommand("PING"))) != nil else { return nil }
        return (ContinuousClock.now - started).inSeconds * 1000
    }

    /// Each queue's figures summed over the shards, and the shards that did not answer.
    func queueStats() async -> ([OpsData.Queue], Set<Int>) {
        let now = WallClock.microseconds()
        let shards = self.shards
        let answers = await withTaskGroup(of: (Int, [QueueStats]?).self) { group in
            for (index, node) in shards.nodes.enumerated() {
                group.addTask { (index, try? await shards.bounded { try await JobStore().stats(now: now, in: node) }) }
            }
            var answers: [(Int, [QueueStats]?)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        var byQueue: [String: OpsData.Queue] = [:]
        var failed = Set<Int>()
        for (shard, stats) in answers {
            guard let stats else {
                failed.insert(shard)
                continue
            }
            for queue in stats {
                var merged = byQueue[queue.queue] ?? OpsData.Queue(queue: queue.queue, depth: 0, scheduled: 0, running: 0, dead: 0, oldestSeconds: 0)
                merged.depth += queue.ready
                merged.scheduled += queue.scheduled
                merged.running += queue.running
                merged.dead += queue.dead
                merged.oldestSeconds = max(merged.oldestSeconds, queue.oldestReadyAge(now: now))
                byQueue[queue.queue] = merged
            }
        }
        return (byQueue.values.sorted { $0.queue < $1.queue }, failed)
    }

    /// The latest dead jobs over every shard, newest first.
    func deadJobs(limit: Int = 20, problems: inout [String]) async -> [OpsData.DeadJob] {
        var jobs: [OpsData.DeadJob] = []
        for (index, node) in shards.nodes.enumerated() {
            guard let dead = try? await shards.bounded({ try await JobStore().dead(limit: limit, in: node) }) else {
                problems.append("shard \(index): dead jobs could not be read")
                continue
            }
            jobs += dead.map {
                OpsData.DeadJob(
                    id: OpsJobID(shard: index, job: $0.id).description, queue: $0.queue, name: $0.name, attempts: $0.attempt,
                    error: String(($0.lastError ?? "").prefix(300)), finishedAt: $0.finishedAt / 1000
                )
            }
        }
        return Array(jobs.sorted { ($0.finishedAt, $0.id) > ($1.finishedAt, $1.id) }.prefix(limit))
    }

    func shardNodes(failed: Set<Int>) -> [OpsData.Shard] {
        shards.nodes.enumerated().map { index, node in
            switch node.base {
            case let replicated as ReplicatedDatabase:
                let nodes = replicated.topology.map { node in
                    OpsData.Node(
                        address: node.address, role: node.role.rawValue,
                        health: node.role == .unknown || CircuitBreaker.Phase(rawValue: node.breaker)?.refusesCalls == true ? "down" : "up",
                        breaker: node.breaker, lagMilliseconds: node.lag.inSeconds * 1000
                    )
                }
                return OpsData.Shard(shard: index, system: "postgresql", nodes: nodes)
            case let sqlite as SQLiteDatabase:
                let name = (sqlite.path as NSString).lastPathComponent
                return OpsData.Shard(
                    shard: index, system: "sqlite",
                    nodes: [.init(address: name, role: "primary", health: failed.contains(index) ? "down" : "up", breaker: "none", lagMilliseconds: 0)]
                )
            default:
                return OpsData.Shard(shard: index, system: "\(node.dialect)", nodes: [])
            }
        }
    }

    func pools() -> [OpsData.Pool] {
        shards.nodes.enumerated().map { index, node in
            let (inUse, waiting) = node.connections
            let (open, max): (Int, Int) = switch node.base {
            case let replicated as ReplicatedDatabase:
                (replicated.nodes.reduce(0) { $0 + $1.openConnections }, replicated.nodes.reduce(0) { $0 + $1.maximumConnections })
            case let sqlite as SQLiteDatabase: (sqlite.connectionCount, sqlite.connectionCount)
            default: (0, 0)
            }
            return OpsData.Pool(shard: index, inUse: inUse, waiting: waiting, open: open, max: max)
        }
    }

    func breakerStates() -> [OpsData.Breaker] {
        breakers.all.sorted { $0.key < $1.key }.map { name, breaker in
            let totals = breaker.totals
            return OpsData.Breaker(name: name, state: breaker.phase.rawValue, calls: totals.calls, failureRate: totals.failureRate)
        }
    }
}
