import FleetRedis
import FleetTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import FleetCache

/// Counts loader calls.
final class Source: Sendable {
    let calls = Atomic<Int>(0)
    let value = Mutex<String?>("v1")
    let failing = Atomic<Bool>(false)
    let delay = Mutex<Duration>(.zero)

    func load() async throws -> String? {
        calls.add(1, ordering: .relaxed)
        let delay = self.delay.withLock { $0 }
        let value = self.value.withLock { $0 }
        if delay > .zero { try await Task.sleep(for: delay) }
        if failing.load(ordering: .relaxed) { throw CancellationError() }
        return value
    }

    var callCount: Int { calls.load(ordering: .relaxed) }
}

let logger = Logger(label: "test")

@Suite struct CacheTests {
    func cache(ttl: Duration = .seconds(60)) -> Cache<String> {
        var policy = CachePolicy(ttl: ttl)
        policy.negativeTTL = .seconds(60)
        return Cache(namespace: "t", policy: policy, bus: nil, logger: logger)
    }

    @Test func oneLoaderPerKeyAtATime() async throws {
        let cache = cache()
        let source = Source()
        source.delay.withLock { $0 = .milliseconds(100) }
        try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<100 { group.addTask { try await cache.get("k") { try await source.load() } } }
            for try await value in group { #expect(value == "v1") }
        }
        #expect(source.callCount == 1)
    }

    @Test func rememberesAbsenceAndInvalidates() async throws {
        let cache = cache()
        let source = Source()
        source.value.withLock { $0 = nil }
        #expect(try await cache.get("missing") { try await source.load() } == nil)
        #expect(try await cache.get("missing") { try await source.load() } == nil)
        #expect(source.callCount == 1)
        source.value.withLock { $0 = "now here" }
        try await cache.invalidate("missing")
        #expect(try await cache.get("missing") { try await source.load() } == "now here")
    }

    @Test func servesStaleWhenTheReloadFails() async throws {
        let cache = cache(ttl: .milliseconds(20))
        let source = Source()
        #expect(try await cache.get("k") { try await source.load() } == "v1")
        try await Task.sleep(for: .milliseconds(40))
        source.failing.store(true, ordering: .relaxed)
        let status = CacheStatus()
        let value = try await CacheStatus.$current.withValue(status) { try await cache.get("k") { try await source.load() } }
        #expect(value == "v1" && status.outcome == .stale)
        // Without anything stale, the failure is the caller's.
        await #expect(throws: CancellationError.self) { try await cache.get("other") { try await source.load() } }
    }

    @Test func aLoadOverlappingAnInvalidationIsNotStored() async throws {
        let cache = cache()
        let source = Source()
        source.delay.withLock { $0 = .milliseconds(100) }
        async let slow = cache.get("k") { try await source.load() }
        try await Task.sleep(for: .milliseconds(20))
        source.value.withLock { $0 = "v2" }
        try await cache.invalidate("k")
        _ = try await slow
        source.delay.withLock { $0 = .zero }
        #expect(try await cache.get("k") { try await source.load() } == "v2")
    }

    @Test func recordsCacheStatus() async throws {
        let cache = cache()
        let source = Source()
        let first = CacheStatus()
        _ = try await CacheStatus.$current.withValue(first) { try await cache.get("k") { try await source.load() } }
        #expect(first.headerValue == "fleet; fwd=miss; stored")
        let second = CacheStatus()
        _ = try await CacheStatus.$current.withValue(second) { try await cache.get("k") { try await source.load() } }
        #expect(second.headerValue == "fleet; hit; detail=l1")
    }
}

/// Two instances' caches over one real Redis.
@Suite(.enabled(if: RedisServerProcess.enabled, "needs redis-server"))
struct SharedCacheTests {
    final class Instance: Sendable {
        let redis: RedisClient
        let bus: CacheBus
        let cache: Cache<String>

        init(_ configuration: RedisConfiguration) {
            redis = RedisClient(configuration, logger: logger)
            bus = CacheBus(redis: redis, configuration: configuration, logger: logger)
            cache = Cache(namespace: "t", policy: CachePolicy(ttl: .seconds(60)), bus: bus, logger: logger)
        }

        func run() async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.redis.run() }
                group.addTask { try await self.bus.run() }
                try await group.waitForAll()
            }
        }

        /// Subscribed, and commands get through (after an outage, the breaker's wait is over).
        func ready() async throws {
            try await redis.waitUntilConnected()
            while !bus.isSubscribed || redis.breaker.refusesCalls { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    func withInstances(_ server: RedisServerProcess, _ body: (Instance, Instance) async throws -> Void) async throws {
        let configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        let a = Instance(configuration)
        let b = Instance(configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            defer { group.cancelAll() }
            try await a.ready()
            try await b.ready()
            try await body(a, b)
        }
    }

    @Test func secondInstanceReadsL2AndSeesInvalidations() async throws {
        let server = try RedisServerProcess()
        try await withInstances(server) { a, b in
            let source = Source()
            #expect(try await a.cache.get("k") { try await source.load() } == "v1")
            let status = CacheStatus()
            let fromB = try await CacheStatus.$current.withValue(status) { try await b.cache.get("k") { try await source.load() } }
            #expect(fromB == "v1" && status.outcome == .l2Hit && source.callCount == 1)
            // A write on A: B's next read, after A's invalidate returned, is the new value.
            source.value.withLock { $0 = "v2" }
            try await a.cache.invalidate("k")
            var seen: String?
            for _ in 0..<200 {
                seen = try await b.cache.get("k") { try await source.load() }
                if seen == "v2" { break }
                try await Task.sleep(for: .milliseconds(1))
            }
            #expect(seen == "v2")
            // Namespace-wide invalidation reaches L2 and B at once.
            source.value.withLock { $0 = "v3" }
            try await a.cache.invalidateAll()
            for _ in 0..<200 where try await b.cache.get("k", load: { try await source.load() }) != "v3" {
                try await Task.sleep(for: .milliseconds(1))
            }
            #expect(try await b.cache.get("k") { try await source.load() } == "v3")
        }
    }

    /// B starts loading the old value, A's write invalidates meanwhile, B's load finishes
    /// last: neither B's L1 nor L2 may keep the old value.
    @Test func aSlowLoadCannotPutTheOldValueBack() async throws {
        let server = try RedisServerProcess()
        try await withInstances(server) { a, b in
            // The slow load starts, A's write invalidates while it runs, and it finishes
            // only after B has applied that invalidation.
            let (started, startedSignal) = AsyncStream<Void>.makeStream()
            let (gate, opener) = AsyncStream<Void>.makeStream()
            async let slow = b.cache.get("k") {
                startedSignal.yield()
                for await _ in gate { break }
                return "v1"
            }
            for await _ in started { break }
            try await a.cache.invalidate("k")
            try await b.bus.barrier()
            opener.yield()
            #expect(try await slow == "v1")
            let fresh = Source()
            fresh.value.withLock { $0 = "v2" }
            #expect(try await b.cache.get("k") { try await fresh.load() } == "v2")
            let c = Source()
            c.value.withLock { $0 = "never" }
            // L2 holds what B just stored, never the slow load's old value.
            #expect(try await a.cache.get("k") { try await c.load() } == "v2")
        }
    }

    /// Caches are usually made after the subscription is up; their L1 must count as
    /// synchronized from the start, not only after the next reconnect.
    @Test func aCacheMadeAfterTheSubscriptionTrustsItsL1() async throws {
        let server = try RedisServerProcess()
        try await withInstances(server) { a, _ in
            var policy = CachePolicy(ttl: .seconds(60))
            policy.unsubscribedMaxAge = .zero
            let late = Cache<String>(namespace: "late", policy: policy, bus: a.bus, logger: logger)
            let source = Source()
            _ = try await late.get("k") { try await source.load() }
            let status = CacheStatus()
            _ = try await CacheStatus.$current.withValue(status) { try await late.get("k") { try await source.load() } }
            #expect(status.outcome == .l1Hit)
        }
    }

    @Test func keepsServingThroughARedisOutageAndRecovers() async throws {
        let server = try RedisServerProcess()
        try await withInstances(server) { a, b in
            let source = Source()
            #expect(try await a.cache.get("k") { try await source.load() } == "v1")
            server.stop()
            for round in 0..<50 {
                source.value.withLock { $0 = "r\(round)" }
                // Applied here; the other instances cannot be told, and the caller hears so.
                await #expect(throws: CacheError.self) { try await a.cache.invalidate("k") }
                #expect(try await a.cache.get("k") { try await source.load() } == "r\(round)")
                try await Task.sleep(for: .milliseconds(10))
            }
            try server.start()
            try await a.ready()
            try await b.ready()
            source.value.withLock { $0 = "after" }
            try await a.cache.invalidate("k")
            var seen: String?
            for _ in 0..<200 {
                seen = try await b.cache.get("k") { try await source.load() }
                if seen == "after" { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(seen == "after")
        }
    }
}
