import Foundation
public import Logging
import Metrics
import Synchronization
import Tracing

/// A two-level cache for one kind of value: L1 in this process (W-TinyLFU, bounded by
/// entries and bytes), L2 in Redis when a `CacheBus` is given, and the loader (the
/// database) behind both.
///
/// - One loader per key at a time: concurrent misses for a key share one load.
/// - Invalidation drops the key here and, through the bus, in L2 and on every other
///   instance. A load that was already running when its key was invalidated still
///   answers its callers but is not stored, and later callers start a fresh one.
/// - Negative caching: a loader returning nil is remembered for `negativeTTL`.
/// - Fail-safe: when a reload fails, an expired entry is served for up to `failSafe`.
/// - Without a bus (topology T0) it is L1 alone, which is exact on one instance.
public final class Cache<Value: Codable & Sendable>: Sendable, CacheInvalidationListener {
    public let namespace: String
    public let policy: CachePolicy
    private let bus: CacheBus?
    private let weigh: @Sendable (Value) -> Int
    private let logger: Logger
    private let state: Mutex<State>
    private let counters: Counters

    /// L1 plus what decides whether a finished load may still be stored.
    private struct State {
        var local: LocalCache<Value?>
        /// Bumped for a key (by its hash) on every invalidation of that key.
        var stripes = [UInt32](repeating: 0, count: 4096)
        /// Bumped when the whole namespace is invalidated or invalidations were missed.
        var epoch: UInt64 = 0
        /// False while invalidations from other instances cannot arrive.
        var subscribed: Bool
        /// L2 may hold values that a failed invalidation should have removed; L2 is not
        /// read until the namespace has been moved to a new generation.
        var l2Dirty = false
        /// Counts failed invalidations, so a renewal clears only the marks made before it.
        var l2DirtyMarks = 0
        var flights: [String: Flight] = [:]
        var nextFlight: UInt64 = 0

        func snapshot(_ id: String) -> Snapshot {
            Snapshot(stripe: stripes[Self.stripe(id)], epoch: epoch)
        }

        mutating func drop(_ id: String) {
            local.remove(id)
            stripes[Self.stripe(id)] &+= 1
            flights[id] = nil
        }

        mutating func dropAll() {
            local.removeAll()
            epoch &+= 1
            flights.removeAll()
        }

        static func stripe(_ id: String) -> Int { Int(LocalCache<Value?>.hash(id) & 4095) }
    }

    private struct Snapshot: Equatable {
        var stripe: UInt32
        var epoch: UInt64
    }

    private struct Flight {
        var token: UInt64
        var task: Task<Loaded, any Error>
    }

    private enum Decision: Sendable {
        case hit(Value?)
        case wait(Task<Loaded, any Error>)
    }

    private struct Loaded: Sendable {
        var value: Value?
        var outcome: CacheStatus.Outcome
    }

    /// - Parameters:
    ///   - namespace: unique per cache; part of every L2 key and invalidation message.
    ///   - weigh: the approximate size in bytes of a value in L1.
    public init(
        namespace: String, policy: CachePolicy, bus: CacheBus?, logger: Logger,
        weigh: @escaping @Sendable (Value) -> Int = { _ in 512 }
    ) {
        precondition(!namespace.contains("|") && !namespace.contains(":"), "cache namespaces are plain names")
        self.namespace = namespace
        self.policy = policy
        self.bus = bus
        self.weigh = weigh
        self.logger = logger
        self.state = Mutex(State(local: LocalCache(maxEntries: policy.maxEntries, maxBytes: policy.maxBytes), subscribed: bus == nil))
        self.counters = Counters(cache: namespace)
        bus?.register(self)
    }

    /// The value for `id`: from L1, else L2, else `load` (whose result is stored in both).
    /// `nil` means the loader found nothing, which is cached too.
    public func get(_ id: String, load: @escaping @Sendable () async throws -> Value?) async throws -> Value? {
        guard policy.enabled else { return try await load() }
        return try await traced("cache.get") { try await lookup(id, load: load) }
    }

    /// A span around one lookup (its loader's statements are its children) saying which
    /// layer answered, and the outcome recorded for the request's `Cache-Status`.
    private func traced<Result>(_ operation: String, _ lookup: () async throws -> (Result, CacheStatus.Outcome)) async throws -> Result {
        guard ServiceContext.current != nil else {
            let (result, outcome) = try await lookup()
            CacheStatus.current?.record(outcome)
            return result
        }
        return try await withSpan("\(operation) \(namespace)") { span in
            let (result, outcome) = try await lookup()
            CacheStatus.current?.record(outcome)
            if span.isRecording {
                span.updateAttributes { attributes in
                    attributes["fleet.cache.name"] = namespace
                    attributes["fleet.cache.outcome"] = "\(outcome)"
                }
            }
            return result
        }
    }

    private func lookup(_ id: String, load: @escaping @Sendable () async throws -> Value?) async throws -> (Value?, CacheStatus.Outcome) {
        let synchronized = await synchronize()
        let now = ContinuousClock.now
        var stale: Value??
        let decision: Decision = state.withLock { state in
            if let entry = state.local.get(id) {
                let trusted = (state.subscribed && synchronized) || now - entry.storedAt < policy.unsubscribedMaxAge
                if now < entry.freshUntil, trusted { return .hit(entry.value) }
                if now < entry.staleUntil { stale = .some(entry.value) }
            }
            if let flight = state.flights[id] { return .wait(flight.task) }
            let snapshot = state.snapshot(id)
            state.nextFlight &+= 1
            let token = state.nextFlight
            let task = Task { try await self.fill(id, snapshot: snapshot, token: token, load: load) }
            state.flights[id] = Flight(token: token, task: task)
            return .wait(task)
        }
        let task: Task<Loaded, any Error>
        switch decision {
        case .hit(let value):
            counters.l1Hit.increment()
            return (value, .l1Hit)
        case .wait(let flight):
            task = flight
        }
        counters.l1Miss.increment()
        do {
            let loaded = try await task.value
            return (loaded.value, loaded.outcome)
        } catch {
            guard let stale else { throw error }
            counters.stale.increment()
            logger.warning("serving a stale cache entry: its reload failed", metadata: ["cache": "\(namespace)", "error": "\(error)"])
            return (stale, .stale)
        }
    }

    /// The values for `ids` that exist, each from L1, else L2, else one call of
    /// `loadMany` for all the rest: a page of N entries costs at most one L2 round trip and
    /// one load, never N. Absent ids are cached as absent. Batches do not join other
    /// callers' loads (single flight is per key, in `get`).
    public func getMany(
        _ ids: [String], loadMany: @Sendable ([String]) async throws -> [String: Value]
    ) async throws -> [String: Value] {
        guard policy.enabled else { return try await loadMany(ids) }
        return try await traced("cache.getMany") { try await lookupMany(ids, loadMany: loadMany) }
    }

    private func lookupMany(
        _ ids: [String], loadMany: @Sendable ([String]) async throws -> [String: Value]
    ) async throws -> ([String: Value], CacheStatus.Outcome) {
        let synchronized = await synchronize()
        let now = ContinuousClock.now
        var found: [String: Value] = [:]
        var missing: [String] = []
        var stale: [String: Value?] = [:]
        var snapshots: [String: Snapshot] = [:]
        state.withLock { state in
            for id in Set(ids) {
                if let entry = state.local.get(id) {
                    let trusted = (state.subscribed && synchronized) || now - entry.storedAt < policy.unsubscribedMaxAge
                    if now < entry.freshUntil, trusted {
                        if let value = entry.value { found[id] = value }
                        continue
                    }
                    if now < entry.staleUntil { stale[id] = entry.value }
                }
                missing.append(id)
                snapshots[id] = state.snapshot(id)
            }
        }
        counters.l1Hit.increment(by: Int64(ids.count - missing.count))
        guard !missing.isEmpty else { return (found, .l1Hit) }
        counters.l1Miss.increment(by: Int64(missing.count))

        var versions: [String: String] = [:]
        var toLoad = missing
        if let bus, await l2Usable(bus) {
            do {
                let replies = try await bus.getMany(namespace, missing)
                toLoad = []
                for (id, reply) in zip(missing, replies) {
                    if let bytes = reply.bytes, let stored = try? JSONDecoder().decode(Stored.self, from: Data(bytes)) {
                        counters.l2Hit.increment()
                        if let value = stored.value { found[id] = value }
                        store(id, stored.value, bytes: bytes.count, snapshot: snapshots[id]!)
                    } else {
                        counters.l2Miss.increment()
                        versions[id] = reply.version
                        toLoad.append(id)
                    }
                }
            } catch {
                counters.l2Error.increment()
            }
        }
        guard !toLoad.isEmpty else { return (found, .l2Hit) }

        let loaded: [String: Value]
        do {
            loaded = try await loadMany(toLoad)
        } catch {
            // Fail-safe only when every missing entry has a stale value to stand in.
            guard toLoad.allSatisfy({ stale[$0] != nil }) else { throw error }
            counters.stale.increment(by: Int64(toLoad.count))
            for id in toLoad { if let value = stale[id] ?? nil { found[id] = value } }
            return (found, .stale)
        }
        var forL2: [(id: String, bytes: [UInt8], version: String)] = []
        for id in toLoad {
            let value = loaded[id]
            if let value { found[id] = value }
            var size = value.map(weigh) ?? 64
            if bus != nil, let version = versions[id], let bytes = try? Array(JSONEncoder().encode(Stored(value: value))) {
                size = bytes.count
                forL2.append((id, bytes, version))
            }
            store(id, value, bytes: size, snapshot: snapshots[id]!)
        }
        if let bus, !forL2.isEmpty {
            do { try await bus.setMany(namespace, forL2, ttl: policy.ttl) } catch { counters.l2Error.increment() }
        }
        return (found, .miss)
    }

    /// With other instances (a bus), waits until every invalidation they published before
    /// this lookup has been applied here, once per request. False when that cannot be
    /// known (Redis unreachable): L1 entries then count as fresh only while young.
    private func synchronize() async -> Bool {
        guard let bus else { return true }
        if CacheStatus.current?.isSynchronized == true { return true }
        do {
            try await bus.barrier()
            CacheStatus.current?.markSynchronized()
            return true
        } catch {
            return false
        }
    }

    /// Drops `id` here, in L2 and on every instance. Call it after the change commits.
    /// Throws `CacheError.notPublished` when other instances could not be told: their L1
    /// may still serve the old value (their subscription may be up the whole time, as when
    /// only this instance's Redis breaker is open), so the caller must try again later.
    public func invalidate(_ id: String) async throws {
        guard policy.enabled else { return }
        state.withLock { $0.drop(id) }
        guard let bus else { return }
        // A load that started between the drop above and the script may have read the old
        // L2 value and stored it; this instance skips its own message, so drop it again.
        defer { state.withLock { $0.drop(id) } }
        do {
            try await bus.invalidate(namespace, id, versionTTL: policy.ttl + policy.failSafe)
        } catch {
            markL2Dirty(error)
            throw CacheError(.notPublished, "\(namespace) \(id): \(error)")
        }
    }

    /// Drops every entry of this cache, here, in L2 and on every instance; throws as
    /// `invalidate` does.
    public func invalidateAll() async throws {
        guard policy.enabled else { return }
        state.withLock { $0.dropAll() }
        guard let bus else { return }
        defer { state.withLock { $0.dropAll() } }  // as in `invalidate`
        do {
            try await bus.invalidateAll(namespace)
        } catch {
            markL2Dirty(error)
            throw CacheError(.notPublished, "\(namespace): \(error)")
        }
    }

    /// Entries in L1 now.
    public var localCount: Int { state.withLock { $0.local.count } }

    // MARK: - CacheInvalidationListener

    func remoteInvalidate(_ id: String) { state.withLock { $0.drop(id) } }

    func remoteInvalidateAll() { state.withLock { $0.dropAll() } }

    func resynchronize(subscribed: Bool) {
        state.withLock { state in
            state.dropAll()
            state.subscribed = subscribed
        }
    }

    // MARK: - Loading

    private func fill(_ id: String, snapshot: Snapshot, token: UInt64, load: @Sendable () async throws -> Value?) async throws -> Loaded {
        defer {
            state.withLock { state in
                if state.flights[id]?.token == token { state.flights[id] = nil }
            }
        }
        var version: String?
        if let bus, await l2Usable(bus) {
            do {
                let (bytes, current) = try await bus.get(namespace, id)
                version = current
                if let bytes {
                    let value = try JSONDecoder().decode(Stored.self, from: Data(bytes)).value
                    counters.l2Hit.increment()
                    store(id, value, bytes: bytes.count, snapshot: snapshot)
                    return Loaded(value: value, outcome: .l2Hit)
                }
                counters.l2Miss.increment()
            } catch {
                counters.l2Error.increment()
                version = nil
            }
        }
        let value = try await load()
        var size = value.map(weigh) ?? 64
        if let bus, let version {
            do {
                let bytes = Array(try JSONEncoder().encode(Stored(value: value)))
                size = bytes.count
                try await bus.set(namespace, id, bytes: bytes, ifVersion: version, ttl: ttl(for: value))
            } catch {
                counters.l2Error.increment()
            }
        }
        store(id, value, bytes: size, snapshot: snapshot)
        return Loaded(value: value, outcome: .miss)
    }

    private func store(_ id: String, _ value: Value?, bytes: Int, snapshot: Snapshot) {
        let now = ContinuousClock.now
        let fresh = now + ttl(for: value)
        state.withLock { state in
            // Invalidated while loading: answer the callers, but keep nothing.
            guard state.snapshot(id) == snapshot else { return }
            state.local.set(
                id, .init(value: value, bytes: bytes + id.utf8.count + 64, freshUntil: fresh, staleUntil: fresh + policy.failSafe, storedAt: now)
            )
        }
    }

    private func ttl(for value: Value?) -> Duration {
        let base = value == nil ? policy.negativeTTL : policy.ttl
        return base * (1 - Double.random(in: 0...policy.jitter))
    }

    /// L2 is skipped while it may hold values an invalidation failed to remove, until the
    /// namespace has been moved to a new generation.
    private func l2Usable(_ bus: CacheBus) async -> Bool {
        guard let marks = state.withLock({ $0.l2Dirty ? $0.l2DirtyMarks : nil }) else { return true }
        guard (try? await bus.invalidateAll(namespace)) != nil else { return false }
        let renewed = state.withLock { state in
            // Another invalidation may have failed meanwhile: then renew again next time.
            if state.l2DirtyMarks == marks { state.l2Dirty = false }
            return !state.l2Dirty
        }
        guard renewed else { return false }
        logger.notice("cache L2 namespace renewed after a failed invalidation", metadata: ["cache": "\(namespace)"])
        return true
    }

    private func markL2Dirty(_ error: any Error) {
        let wasDirty = state.withLock { state in
            defer {
                state.l2Dirty = true
                state.l2DirtyMarks += 1
            }
            return state.l2Dirty
        }
        counters.l2Error.increment()
        guard !wasDirty else { return }
        logger.warning(
            "cache invalidation could not reach Redis; L2 is bypassed until it can be renewed",
            metadata: ["cache": "\(namespace)", "error": "\(error)"]
        )
    }

    /// The L2 representation: `value` is absent for a cached "not found".
    private struct Stored: Codable {
        var value: Value?
    }

    /// What this cache's lookups found so far, by layer (for the ops page; the same
    /// counts as `cache.requests.total`).
    public var stats: CacheStats {
        CacheStats(
            l1: .init(hits: counters.l1Hit.value, misses: counters.l1Miss.value, stale: counters.stale.value),
            l2: .init(hits: counters.l2Hit.value, misses: counters.l2Miss.value, errors: counters.l2Error.value)
        )
    }

    private struct Counters {
        let l1Hit, l1Miss, l2Hit, l2Miss, l2Error, stale: CountedCounter

        init(cache: String) {
            func counter(_ layer: String, _ result: String) -> CountedCounter {
                CountedCounter(Counter(label: "cache.requests.total", dimensions: [("cache", cache), ("layer", layer), ("result", result)]))
            }
            l1Hit = counter("l1", "hit")
            l1Miss = counter("l1", "miss")
            l2Hit = counter("l2", "hit")
            l2Miss = counter("l2", "miss")
            l2Error = counter("l2", "error")
            stale = counter("l1", "stale")
        }
    }
}
