import Synchronization

/// What one session (a request, on behalf of a client) must see: at least everything
/// that client wrote before. The HTTP layer creates one per request, `ReplicatedDatabase`
/// asks it before sending a read to a replica, and raises it after each commit.
///
/// Positions are per node (the physical shard a `ReplicatedDatabase` serves): WAL
/// positions of different primaries cannot be compared.
///
/// Where the client's last write positions are kept (Redis, for every instance) is asked
/// only when a read needs it: a request answered from the cache pays nothing.
public final class SessionConsistency: Sendable {
    @TaskLocal public static var current: SessionConsistency?

    private let resolve: @Sendable (Int) async -> WALPosition?
    private let state = Mutex(State())

    private struct State {
        var resolved: Set<Int> = []
        var positions: [Int: UInt64] = [:]
        var written: Set<Int> = []
    }

    /// - Parameter resolve: the client's last write position on a node, looked up when first needed.
    public init(resolve: @escaping @Sendable (_ node: Int) async -> WALPosition?) {
        self.resolve = resolve
    }

    public convenience init(atLeast position: WALPosition?, on node: Int = 0) {
        self.init { $0 == node ? position : nil }
    }

    /// The position reads on `node` must have reached; nil when there is no requirement.
    public func required(on node: Int) async -> WALPosition? {
        let known = state.withLock { $0.resolved.contains(node) ? ($0.positions[node] ?? 0) : nil }
        if let known { return Self.position(known) }
        let fetched = await resolve(node)
        return state.withLock { state in
            let position = max(state.positions[node] ?? 0, fetched?.rawValue ?? 0)
            state.positions[node] = position
            state.resolved.insert(node)
            return Self.position(position)
        }
    }

    /// The position of this session's last commit on each node it committed on.
    public var written: [Int: WALPosition] {
        state.withLock { state in
            Dictionary(uniqueKeysWithValues: state.written.compactMap { node in Self.position(state.positions[node] ?? 0).map { (node, $0) } })
        }
    }

    /// Records a commit at `position` on `node`.
    public func advance(on node: Int, to position: WALPosition) {
        state.withLock { state in
            state.positions[node] = max(state.positions[node] ?? 0, position.rawValue)
            state.written.insert(node)
        }
    }

    private static func position(_ raw: UInt64) -> WALPosition? { raw == 0 ? nil : WALPosition(rawValue: raw) }
}
