/// An in-process cache bounded by entry count and by bytes, with W-TinyLFU eviction.
///
/// Why W-TinyLFU: on skewed traffic (a few hot articles, a long tail) plain LRU lets
/// every one-off read push a hot entry out. Here a new entry first lands in a small LRU
/// window (1 % of the capacity); when it leaves the window it must beat the main area's
/// next victim on recent frequency (a `FrequencySketch`) to get in. The main area is a
/// segmented LRU (probation, then protected after a second hit), so scans and one-hit
/// wonders never flush the hot set. `windowPercent: 100` makes it plain LRU, which the
/// tests use as the baseline.
///
/// Not thread-safe by itself: `Cache` guards it with a lock.
struct LocalCache<Value> {
    struct Entry {
        var value: Value
        var bytes: Int
        /// Fresh until then; after it, servable only as stale (fail-safe) until `staleUntil`.
        var freshUntil: ContinuousClock.Instant
        var staleUntil: ContinuousClock.Instant
        var storedAt: ContinuousClock.Instant
    }

    private enum Segment { case window, probation, protected }

    private struct Node {
        var key: String
        var hash: UInt64
        var entry: Entry
        var segment: Segment
        var previous = -1
        var next = -1
    }

    /// A doubly linked list threaded through `nodes` by index: head is most recent.
    private struct List {
        var head = -1
        var tail = -1
        var count = 0
    }

    let maxEntries: Int
    let maxBytes: Int
    private let windowCapacity: Int
    private let protectedCapacity: Int
    private var nodes: [Node] = []
    private var free: [Int] = []
    private var index: [String: Int] = [:]
    private var window = List()
    private var probation = List()
    private var protected = List()
    private var sketch: FrequencySketch
    private(set) var totalBytes = 0

    init(maxEntries: Int, maxBytes: Int, windowPercent: Int = 1) {
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = max(1, maxBytes)
        windowCapacity = max(1, self.maxEntries * min(100, max(1, windowPercent)) / 100)
        protectedCapacity = max(0, (self.maxEntries - windowCapacity) * 80 / 100)
        sketch = FrequencySketch(capacity: self.maxEntries)
    }

    var count: Int { index.count }

    /// The entry for `key`, counted as an access. Expired entries are returned too; the
    /// caller decides between fresh and stale.
    mutating func get(_ key: String) -> Entry? {
        let hash = Self.hash(key)
        sketch.increment(hash)
        guard let slot = index[key] else { return nil }
        touch(slot)
        return nodes[slot].entry
    }

    mutating func set(_ key: String, _ entry: Entry) {
        let hash = Self.hash(key)
        if let slot = index[key] {
            totalBytes += entry.bytes - nodes[slot].entry.bytes
            nodes[slot].entry = entry
            touch(slot)
        } else {
            let node = Node(key: key, hash: hash, entry: entry, segment: .window)
            let slot: Int
            if let reused = free.popLast() {
                nodes[reused] = node
                slot = reused
            } else {
                nodes.append(node)
                slot = nodes.count - 1
            }
            index[key] = slot
            totalBytes += entry.bytes
            pushFront(slot, to: .window)
        }
        evictIfNeeded()
    }

    mutating func remove(_ key: String) {
        guard let slot = index[key] else { return }
        drop(slot)
    }

    mutating func removeAll() {
        nodes.removeAll()
        free.removeAll()
        index.removeAll()
        window = List()
        probation = List()
        protected = List()
        totalBytes = 0
    }

    // MARK: - Policy

    private mutating func touch(_ slot: Int) {
        switch nodes[slot].segment {
        case .window, .protected:
            let segment = nodes[slot].segment
            unlink(slot)
            pushFront(slot, to: segment)
        case .probation:
            // A second hit: promote, and demote protected's oldest if it overflows.
            unlink(slot)
            pushFront(slot, to: .protected)
            if protected.count > protectedCapacity, protected.tail >= 0 {
                let demoted = protected.tail
                unlink(demoted)
                pushFront(demoted, to: .probation)
            }
        }
    }

    private mutating func evictIfNeeded() {
        // Entries leaving the window compete with probation's victim for a place.
        while window.count > windowCapacity {
            let candidate = window.tail
            unlink(candidate)
            pushFront(candidate, to: .probation)
            if index.count > maxEntries {
                let victim = probation.tail
                if victim == candidate {
                    drop(candidate)
                } else {
                    let candidateFrequency = sketch.frequency(nodes[candidate].hash)
                    let victimFrequency = sketch.frequency(nodes[victim].hash)
                    drop(candidateFrequency > victimFrequency ? victim : candidate)
                }
            }
        }
        while index.count > maxEntries || totalBytes > maxBytes {
            let victim = probation.tail >= 0 ? probation.tail : window.tail >= 0 ? window.tail : protected.tail
            guard victim >= 0 else { break }
            drop(victim)
        }
    }

    private mutating func drop(_ slot: Int) {
        unlink(slot)
        index[nodes[slot].key] = nil
        totalBytes -= nodes[slot].entry.bytes
        free.append(slot)
    }

    // MARK: - Lists

    private mutating func pushFront(_ slot: Int, to segment: Segment) {
        nodes[slot].segment = segment
        withList(segment) { list, nodes in
            nodes[slot].previous = -1
            nodes[slot].next = list.head
            if list.head >= 0 { nodes[list.head].previous = slot }
            list.head = slot
            if list.tail < 0 { list.tail = slot }
            list.count += 1
        }
    }

    private mutating func unlink(_ slot: Int) {
        withList(nodes[slot].segment) { list, nodes in
            let previous = nodes[slot].previous
            let next = nodes[slot].next
            if previous >= 0 { nodes[previous].next = next } else { list.head = next }
            if next >= 0 { nodes[next].previous = previous } else { list.tail = previous }
            nodes[slot].previous = -1
            nodes[slot].next = -1
            list.count -= 1
        }
    }

    private mutating func withList(_ segment: Segment, _ body: (inout List, inout [Node]) -> Void) {
        switch segment {
        case .window: body(&window, &nodes)
        case .probation: body(&probation, &nodes)
        case .protected: body(&protected, &nodes)
        }
    }

    /// FNV-1a: stable across processes, unlike `Hasher`, so behaviour is reproducible.
    static func hash(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}
