import Synchronization

/// A fixed set of resources handed out one caller at a time, first come first served.
///
/// Used for SQLite connections (one writer, several readers): a caller waits for a free
/// resource instead of failing, and a timeout bounds the wait.
public final class AsyncPool<Resource: Sendable>: Sendable {
    private struct State {
        var idle: [Resource]
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Resource, any Error>)] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
    }

    private let state: Mutex<State>

    public init(_ resources: [Resource]) {
        self.state = Mutex(State(idle: resources))
    }

    /// Runs `body` with a resource, waiting up to `timeout` for one to be free.
    public func withResource<Result>(
        timeout: Duration,
        _ body: (Resource) async throws -> Result
    ) async throws -> Result {
        let resource = try await acquire(timeout: timeout)
        defer { release(resource) }
        return try await body(resource)
    }

    private func acquire(timeout: Duration) async throws -> Resource {
        if let immediate = state.withLock({ Self.takeIdle(&$0) }) { return try immediate.get() }

        let waiterID = state.withLock { state in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [weak self] in
                try await Task.sleep(for: timeout)
                self?.cancelWaiter(waiterID, with: DatabaseError.acquireTimeout)
            }
            defer { group.cancelAll() }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let immediate = state.withLock { state in
                        let taken = Self.takeIdle(&state)
                        if taken == nil { state.waiters.append((waiterID, continuation)) }
                        return taken
                    }
                    if let immediate { continuation.resume(with: immediate) }
                }
            } onCancel: {
                self.cancelWaiter(waiterID, with: CancellationError())
            }
        }
    }

    /// A free resource, a failure if the pool is closed, or nil when the caller must wait.
    private static func takeIdle(_ state: inout State) -> Result<Resource, any Error>? {
        if state.closed { return .failure(DatabaseError.unavailable("pool closed")) }
        return state.idle.popLast().map { .success($0) }
    }

    private func cancelWaiter(_ id: UInt64, with error: any Error) {
        let continuation = state.withLock { state -> CheckedContinuation<Resource, any Error>? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index).continuation
        }
        continuation?.resume(throwing: error)
    }

    private func release(_ resource: Resource) {
        let waiter = state.withLock { state -> CheckedContinuation<Resource, any Error>? in
            if state.waiters.isEmpty {
                state.idle.append(resource)
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: resource)
    }

    /// Fails every waiter and every later acquire; returns the idle resources so the
    /// owner can close them.
    public func close() -> [Resource] {
        let (waiters, idle) = state.withLock { state in
            state.closed = true
            defer { state.waiters = []; state.idle = [] }
            return (state.waiters.map(\.continuation), state.idle)
        }
        for waiter in waiters { waiter.resume(throwing: DatabaseError.unavailable("pool closed")) }
        return idle
    }
}
