/// A cache's lookups so far, by layer: L1 (process memory) and L2 (Redis).
public struct CacheStats: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        /// L1: stale entries served because the source failed (fail-safe).
        public var stale = 0
        /// L2: lookups that Redis did not answer.
        public var errors = 0

        public init(hits: Int = 0, misses: Int = 0, stale: Int = 0, errors: Int = 0) {
            self.hits = hits
            self.misses = misses
            self.stale = stale
            self.errors = errors
        }

        /// Hits over lookups that got an answer (0 before any).
        public var hitRatio: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }
    }

    public var l1: Layer
    public var l2: Layer

    public init(l1: Layer, l2: Layer) {
        self.l1 = l1
        self.l2 = l2
    }
}
