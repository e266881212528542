import Synchronization

/// Opens once `arrive()` has been called as many times as it expects (at once for none);
/// `wait()` returns once it is open. For "not before every part has started".
public final class Gate: Sendable {
    private let state: Mutex<(left: Int, waiters: [CheckedContinuation<Void, Never>])>

    public init(arrivals: Int) {
        state = Mutex((max(0, arrivals), []))
    }

    public func arrive() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.left > 0 else { return [] }
            state.left -= 1
            guard state.left == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if state.left > 0 { state.waiters.append(continuation) }
                return state.left == 0
            }
            if open { continuation.resume() }
        }
    }
}
