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
    public let capacity: Int

    public init(_ resources: [Resource]) {
        self.state = Mutex(State(idle: resources))
        self.capacity = resources.count
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

    /// Number of callers waiting for a resource.
    public var waiting: Int { state.withLock { $0.waiters.count } }
    /// Number of resources not lent out.
    public var idle: Int { state.withLock { $0.idle.count } }

    private func acquire(timeout: Duration) async throws -> Resource {
        let immediate: Result<Resource, any Error>? = state.withLock { state in
            if state.closed { return .failure(DatabaseError.unavailable("pool closed")) }
            if let resource = state.idle.popLast() { return .success(resource) }
            return nil
        }
        if let immediate { return try immediate.get() }

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
                    let immediate: Result<Resource, any Error>? = state.withLock { state in
                        if state.closed { return .failure(DatabaseError.unavailable("pool closed")) }
                        if let resource = state.idle.popLast() { return .success(resource) }
                        state.waiters.append((waiterID, continuation))
                        return nil
                    }
                    if let immediate { continuation.resume(with: immediate) }
                }
            } onCancel: {
                self.cancelWaiter(waiterID, with: CancellationError())
            }
        }
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
