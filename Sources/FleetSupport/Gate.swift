import Synchronization

/// Opens once `arrive()` has been called as many times as it expects (at once for none);
/// `wait()` returns once it is open, or once the waiting task is cancelled. For "not
/// before every part has started" or "not before the migrations ran".
public final class Gate: Sendable {
    private struct State {
        var left: Int
        var next = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state: Mutex<State>

    public init(arrivals: Int) {
        state = Mutex(State(left: max(0, arrivals)))
    }

    public var isOpen: Bool { state.withLock { $0.left == 0 } }

    public func arrive() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.left > 0 else { return [] }
            state.left -= 1
            guard state.left == 0 else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open, or at once when the task is cancelled (check
    /// `isOpen` or the cancellation after it).
    public func wait() async {
        let id = state.withLock { state in
            defer { state.next += 1 }
            return state.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.left > 0, !Task.isCancelled { state.waiters[id] = continuation }
                    return state.left == 0 || Task.isCancelled
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
