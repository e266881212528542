import Synchronization

/// How producers in a process wake that process's workers right after committing a ready
/// job: what NOTIFY does across processes on PostgreSQL, for SQLite (which has none) and
/// without the round trip. A hint like NOTIFY: workers poll regardless.
public final class JobWakeups: Sendable {
    private let listeners = Mutex<[@Sendable (String) -> Void]>([])

    public init() {}

    /// Calls `listener` with the queue's name on every `notify`.
    public func subscribe(_ listener: @escaping @Sendable (String) -> Void) {
        listeners.withLock { $0.append(listener) }
    }

    /// A ready job of `queue` was committed.
    public func notify(queue: String) {
        for listener in listeners.withLock({ $0 }) { listener(queue) }
    }
}
