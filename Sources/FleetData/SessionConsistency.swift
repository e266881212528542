import Synchronization

/// What one session (a request, on behalf of a client) must see: at least everything
/// that client wrote before. The HTTP layer creates one per request, `ReplicatedDatabase`
/// asks it before sending a read to a replica, and raises it after each commit.
///
/// Where the client's last write position is kept (Redis, for every instance) is asked
/// only when a read needs it: a request answered from the cache pays nothing.
public final class SessionConsistency: Sendable {
    @TaskLocal public static var current: SessionConsistency?

    private let resolve: @Sendable () async -> WALPosition?
    private let state = Mutex(State())

    private struct State {
        var resolved = false
        var position: UInt64 = 0
        var wrote = false
    }

    /// - Parameter resolve: the client's last write position, looked up when first needed.
    public init(resolve: @escaping @Sendable () async -> WALPosition?) {
        self.resolve = resolve
    }

    public convenience init(atLeast position: WALPosition?) {
        self.init { position }
    }

    /// The position reads must have reached; nil when the session has no requirement.
    public func required() async -> WALPosition? {
        if let known = state.withLock({ $0.resolved ? $0.position : nil }) { return Self.position(known) }
        let fetched = await resolve()
        return state.withLock { state in
            state.position = max(state.position, fetched?.rawValue ?? 0)
            state.resolved = true
            return Self.position(state.position)
        }
    }

    /// The position of this session's last commit, if it committed anything.
    public var written: WALPosition? {
        state.withLock { $0.wrote ? Self.position($0.position) : nil }
    }

    /// Records a commit at `position`.
    public func advance(to position: WALPosition) {
        state.withLock { state in
            state.position = max(state.position, position.rawValue)
            state.wrote = true
        }
    }

    private static func position(_ raw: UInt64) -> WALPosition? { raw == 0 ? nil : WALPosition(rawValue: raw) }
}
