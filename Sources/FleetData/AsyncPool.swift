import FleetSupport
import Synchronization

/// A fixed set of resources handed out one caller at a time, first come first served.
///
/// Used for SQLite connections (one writer, several readers): a caller waits for a free
/// resource instead of failing, and a timeout bounds the wait.
///
/// Waits are timed out by `run()`, one loop for the whole pool that sleeps until the
/// earliest deadline. A pool nobody runs gives each waiter a timer of its own instead,
/// which costs a timer set and cancelled per wait: under load, when most calls wait for
/// the one writer, those timers cost more CPU than the waits they bound.
public final class AsyncPool<Resource: Sendable>: Sendable {
    private struct Waiter {
        var id: UInt64
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<Resource, any Error>
    }

    private struct State {
        var idle: [Resource]
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
        /// `run()` is timing waiters out.
        var watched = false
        /// When `run()` next looks at the waiters, if it sleeps until then (nil: until a
        /// waiter arrives).
        var nextCheck: ContinuousClock.Instant?
    }

    private let state: Mutex<State>
    /// Wakes `run()` for a waiter due before its next check.
    private let arrival = Wakeup()

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

    /// Times out the pool's waiters until the task is cancelled; one call at a time.
    /// Waiters that arrive while it runs rely on it; once it has stopped, later ones keep
    /// timers of their own.
    public func run() async {
        state.withLock { $0.watched = true }
        defer { state.withLock { $0.watched = false } }
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let (expired, next) = state.withLock { state in
                let expired = state.waiters.filter { $0.deadline <= now }
                state.waiters.removeAll { $0.deadline <= now }
                state.nextCheck = state.waiters.map(\.deadline).min()
                return (expired, state.nextCheck)
            }
            for waiter in expired { waiter.continuation.resume(throwing: DatabaseError.acquireTimeout) }
            if let next {
                await arrival.wait(timeout: next - now)
            } else {
                await arrival.wait()
            }
        }
    }

    /// Whether `run()` is timing waiters out (for tests).
    var isWatched: Bool { state.withLock { $0.watched } }

    private func acquire(timeout: Duration) async throws -> Resource {
        if let immediate = state.withLock({ Self.takeIdle(&$0) }) { return try immediate.get() }

        let (waiterID, watched) = state.withLock { state in
            state.nextWaiterID &+= 1
            return (state.nextWaiterID, state.watched)
        }
        guard watched else {
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { [weak self] in
                    try await Task.sleep(for: timeout)
                    self?.cancelWaiter(waiterID, with: DatabaseError.acquireTimeout)
                }
                defer { group.cancelAll() }
                return try await wait(waiterID, deadline: .now + timeout)
            }
        }
        return try await wait(waiterID, deadline: .now + timeout)
    }

    /// Queues the caller until a resource is released to it, it is cancelled, or its
    /// deadline passes.
    private func wait(_ id: UInt64, deadline: ContinuousClock.Instant) async throws -> Resource {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let (immediate, wake) = state.withLock { state -> (Result<Resource, any Error>?, Bool) in
                    if let taken = Self.takeIdle(&state) { return (taken, false) }
                    // Cancelled before it queued: `onCancel` found nothing to take out.
                    if Task.isCancelled { return (.failure(CancellationError()), false) }
                    state.waiters.append(Waiter(id: id, deadline: deadline, continuation: continuation))
                    guard state.watched, state.nextCheck.map({ deadline < $0 }) ?? true else { return (nil, false) }
                    state.nextCheck = deadline
                    return (nil, true)
                }
                if let immediate { continuation.resume(with: immediate) }
                if wake { arrival.signal() }
            }
        } onCancel: {
            self.cancelWaiter(id, with: CancellationError())
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
