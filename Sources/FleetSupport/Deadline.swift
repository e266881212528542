import Synchronization

/// Runs `operation`, or throws `timeoutError()` once it has taken longer than `limit`.
///
/// The caller is answered at the deadline even if the operation ignores cancellation (a
/// query on a silent socket does): the operation runs in a task of its own, which is
/// cancelled at the deadline and left to finish on its own.
public func withDeadline<Result: Sendable>(
    _ limit: Duration, orThrow timeoutError: @escaping @Sendable () -> any Error, _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let once = OnceFlag()
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
        let work = Task {
            do {
                let result = try await operation()
                if once.claim() { continuation.resume(returning: result) }
            } catch {
                if once.claim() { continuation.resume(throwing: error) }
            }
        }
        Task {
            try? await Task.sleep(for: limit)
            if once.claim() {
                work.cancel()
                continuation.resume(throwing: timeoutError())
            }
        }
    }
}

/// True for the first caller of `claim()` only.
final class OnceFlag: Sendable {
    private let claimed = Atomic<Bool>(false)
    func claim() -> Bool { !claimed.exchange(true, ordering: .acquiringAndReleasing) }
}
