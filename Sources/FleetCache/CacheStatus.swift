import Synchronization

/// What the caches did for one request, for its `Cache-Status` header (RFC 9211).
///
/// A request handler runs inside `CacheStatus.$current.withValue(CacheStatus())`; every
/// cache lookup made on its behalf records its outcome, and the worst one wins.
public final class CacheStatus: Sendable {
    public enum Outcome: Int, Sendable, Comparable {
        case l1Hit, l2Hit, stale, miss

        public static func < (lhs: Outcome, rhs: Outcome) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    @TaskLocal public static var current: CacheStatus?

    private let worst = Mutex<Outcome?>(nil)
    private let synchronized = Atomic<Bool>(false)

    public init() {}

    public func record(_ outcome: Outcome) {
        worst.withLock { worst in worst = max(worst ?? outcome, outcome) }
    }

    public var outcome: Outcome? { worst.withLock { $0 } }

    /// Whether this request already waited for every invalidation published before it
    /// started (`CacheBus.barrier()`); one wait covers all its lookups.
    var isSynchronized: Bool { synchronized.load(ordering: .acquiring) }

    func markSynchronized() { synchronized.store(true, ordering: .releasing) }

    /// The header value, or nil when no cache was consulted.
    public var headerValue: String? {
        switch outcome {
        case nil: nil
        case .l1Hit: "fleet; hit; detail=l1"
        case .l2Hit: "fleet; hit; detail=l2"
        case .stale: "fleet; fwd=stale; detail=fail-safe"
        case .miss: "fleet; fwd=miss; stored"
        }
    }
}
