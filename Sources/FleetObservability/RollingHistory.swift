import Synchronization

/// The last `capacity` samples of something, oldest first: the ops page's sparklines
/// come from here, so a reload still shows the last minutes.
public final class RollingHistory<Sample: Sendable>: Sendable {
    public let capacity: Int
    private let ring: Mutex<Ring>

    private struct Ring {
        var samples: [Sample] = []
        /// Where the next sample goes once the ring is full.
        var next = 0
    }

    public init(capacity: Int) {
        precondition(capacity > 0, "a history holds at least one sample")
        self.capacity = capacity
        self.ring = Mutex(Ring())
    }

    public func append(_ sample: Sample) {
        ring.withLock { ring in
            if ring.samples.count < capacity {
                ring.samples.append(sample)
            } else {
                ring.samples[ring.next] = sample
                ring.next = (ring.next + 1) % capacity
            }
        }
    }

    /// Every sample kept, oldest first.
    public var samples: [Sample] {
        ring.withLock { ring in Array(ring.samples[ring.next...] + ring.samples[..<ring.next]) }
    }
}
