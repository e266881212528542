/// How long and how much one cache keeps.
public struct CachePolicy: Sendable {
    /// How long an entry is fresh, in L1 and L2.
    public var ttl: Duration
    /// Each entry's TTL is shortened by up to this fraction at random, so entries written
    /// together do not all expire (and reload) together.
    public var jitter: Double = 0.1
    /// How long past its TTL an entry may still be served when reloading it fails
    /// (database down or overloaded): stale but available beats an error.
    public var failSafe: Duration = .seconds(300)
    /// How long "there is no such thing" is remembered (unknown slugs and names).
    public var negativeTTL: Duration = .seconds(5)
    /// L1 bounds.
    public var maxEntries: Int = 10_000
    public var maxBytes: Int = 64 << 20
    /// While invalidations cannot arrive (the pub/sub connection is down), L1 entries
    /// older than this are not trusted: the bound on cross-instance staleness in an outage.
    public var unsubscribedMaxAge: Duration = .seconds(1)

    /// Off: every lookup goes to the loader and nothing is kept (to measure what the
    /// cache is worth, or to rule it out).
    public var enabled = true

    public init(ttl: Duration, maxEntries: Int = 10_000, maxBytes: Int = 64 << 20) {
        self.ttl = ttl
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }
}
