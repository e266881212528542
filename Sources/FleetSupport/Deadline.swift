import Synchronization

/// Runs `operation`, or throws `timeoutError()` once it has taken longer than `limit`, or
/// `CancellationError` at once when the caller is cancelled (the operation is cancelled too).
///
/// The caller is answered at the deadline even if the operation ignores cancellation (a
/// query on a silent socket does): the operation runs in a task of its own, which is
/// cancelled at the deadline and left to finish on its own. An operation that finishes in
/// time cancels the timer, so no sleeping task outlives the call (this runs per shard on
/// every scatter-gather request).
public func withDeadline<Result: Sendable>(
    _ limit: Duration, orThrow timeoutError: @escaping @Sendable () -> any Error, _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let race = DeadlineRace()
    return try await withTaskCancellationHandler {
        try await race.run(limit, orThrow: timeoutError, operation)
    } onCancel: {
        // The caller is cancelled: so is the work, and the caller is answered at once.
        race.cancel()
    }
}

/// Like `withDeadline`, but the caller's cancellation does not cut the operation short:
/// it is waited for until it finishes or the deadline passes. For work that must not be
/// left half done behind a caller that gave up, such as a statement whose connection goes
/// back to a pool (a `ROLLBACK` abandoned on cancellation would leave the connection in an
/// open transaction, holding its locks).
///
/// With `giveUpIf`, the wait also ends (with `timeoutError()`) as soon as it says so,
/// checked every `interval` while the operation runs: for an answer that can no longer
/// come, such as one from a server known to be down.
public func withDeadlineIgnoringCancellation<Result: Sendable>(
    _ limit: Duration, orThrow timeoutError: @escaping @Sendable () -> any Error,
    giveUpIf giveUp: (@Sendable () -> Bool)? = nil, checkingEvery interval: Duration = .milliseconds(100),
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await DeadlineRace().run(limit, orThrow: timeoutError, giveUpIf: giveUp, checkingEvery: interval, operation)
}

/// Which of an operation and its timer finished first; the first to finish stops the
/// other's timer.
private final class DeadlineRace: Sendable {
    /// Runs `operation` in a task of its own and answers with its result, or with
    /// `timeoutError()` at the deadline (the task is then cancelled and left to finish).
    func run<Result: Sendable>(
        _ limit: Duration, orThrow timeoutError: @escaping @Sendable () -> any Error,
        giveUpIf giveUp: (@Sendable () -> Bool)? = nil, checkingEvery interval: Duration = .milliseconds(100),
        _ operation: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let task = Task {
                do {
                    let result = try await operation()
                    if self.finish() { continuation.resume(returning: result) }
                } catch {
                    if self.finish() { continuation.resume(throwing: error) }
                }
            }
            self.timer = Task {
                let deadline = ContinuousClock.now + limit
                while ContinuousClock.now < deadline {
                    // Cancelled: the operation finished first, and said so.
                    guard (try? await Task.sleep(until: giveUp == nil ? deadline : min(deadline, .now + interval), clock: .continuous)) != nil else { return }
                    if let giveUp, giveUp() { break }
                }
                if self.finish() {
                    task.cancel()
                    continuation.resume(throwing: timeoutError())
                }
            }
            self.onCancel = {
                task.cancel()
                continuation.resume(throwing: CancellationError())
            }
        }
    }

    private let state = Mutex<(finished: Bool, timer: Task<Void, Never>?, cancelled: Bool, onCancel: (@Sendable () -> Void)?)>((false, nil, false, nil))

    /// What cancelling the caller does once the operation runs (set once, right after it
    /// starts); run at once if the caller was cancelled before.
    var onCancel: (@Sendable () -> Void)? {
        get { state.withLock { $0.onCancel } }
        set {
            let cancelled = state.withLock { state in
                state.onCancel = newValue
                return state.cancelled
            }
            if cancelled { cancel() }
        }
    }

    /// The caller was cancelled: the first to finish, if nothing else was.
    func cancel() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.cancelled = true
            return state.onCancel
        }
        guard let action, finish() else { return }
        action()
    }

    /// The timer, cancelled at once if the operation has already finished.
    var timer: Task<Void, Never>? {
        get { state.withLock { $0.timer } }
        set {
            let finished = state.withLock { state in
                state.timer = newValue
                return state.finished
            }
            if finished { newValue?.cancel() }
        }
    }

    /// True for the first caller only; cancels the timer.
    func finish() -> Bool {
        let (first, timer) = state.withLock { state in
            defer { state.finished = true }
            return (!state.finished, state.timer)
        }
        if first { timer?.cancel() }
        return first
    }
}
