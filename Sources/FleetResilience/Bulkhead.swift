import Metrics
import Synchronization

/// Bounds the concurrent calls to one resource (a thread pool, a dependency) and the
/// queue in front of it: see `BulkheadState` for the rules. Waiters are started in
/// arrival order; a waiter that is cancelled leaves the queue; a full bulkhead throws
/// `BulkheadError` with code `.full` at once.
///
/// Metrics: `bulkhead.calls` (`result` = `admitted` or `refused`) and the
/// `bulkhead.waiting` gauge, each with the bulkhead's `name`.
public final class Bulkhead: Sendable {
    public let name: String
    private let state: Mutex<Shell>
    private let admitted: Counter
    private let refused: Counter
    private let waitingGauge: Gauge

    private struct Shell {
        var decisions: BulkheadState
        var continuations: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        /// What happened to a waiter before its continuation was stored.
        var early: [UInt64: Outcome] = [:]
        var nextID: UInt64 = 0
    }

    private enum Outcome {
        case granted
        case cancelled
    }

    public init(name: String, maxConcurrent: Int, maxWaiting: Int) {
        self.name = name
        self.state = Mutex(Shell(decisions: BulkheadState(maxConcurrent: maxConcurrent, maxWaiting: maxWaiting)))
        self.admitted = Counter(label: "bulkhead.calls", dimensions: [("name", name), ("result", "admitted")])
        self.refused = Counter(label: "bulkhead.calls", dimensions: [("name", name), ("result", "refused")])
        self.waitingGauge = Gauge(label: "bulkhead.waiting", dimensions: [("name", name)])
    }

    /// Runs `body` once a permit is free, or throws `BulkheadError.full` when the queue is full.
    public func run<Result>(_ body: () async throws -> Result) async throws -> Result {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// How many callers wait right now.
    public var waiting: Int { state.withLock { $0.decisions.waiting.count } }

    private func acquire() async throws {
        let (id, admission) = state.withLock { shell in
            shell.nextID &+= 1
            return (shell.nextID, shell.decisions.arrive(shell.nextID))
        }
        switch admission {
        case .run:
            admitted.increment()
            return
        case .refuse:
            refused.increment()
            throw BulkheadError(code: .full, bulkhead: name)
        case .wait:
            admitted.increment()
            recordWaiting()
            defer { recordWaiting() }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    // The permit may have come, or the task been cancelled, before this ran.
                    let early = state.withLock { shell -> Outcome? in
                        guard let outcome = shell.early.removeValue(forKey: id) else {
                            shell.continuations[id] = continuation
                            return nil
                        }
                        return outcome
                    }
                    switch early {
                    case .granted?: continuation.resume()
                    case .cancelled?: continuation.resume(throwing: CancellationError())
                    case nil: break
                    }
                }
            } onCancel: {
                let continuation = state.withLock { shell -> CheckedContinuation<Void, any Error>? in
                    guard shell.decisions.cancel(id) else { return nil }  // already holds a permit
                    guard let continuation = shell.continuations.removeValue(forKey: id) else {
                        shell.early[id] = .cancelled
                        return nil
                    }
                    return continuation
                }
                continuation?.resume(throwing: CancellationError())
            }
        }
    }

    private func release() {
        let next = state.withLock { shell -> CheckedContinuation<Void, any Error>? in
            guard let id = shell.decisions.finish() else { return nil }
            // The permit passes to `id`.
            guard let continuation = shell.continuations.removeValue(forKey: id) else {
                shell.early[id] = .granted
                return nil
            }
            return continuation
        }
        next?.resume()
        recordWaiting()
    }

    private func recordWaiting() { waitingGauge.record(waiting) }
}

/// Why a bulkhead did not run a call.
public struct BulkheadError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private let raw: String
        /// Every permit is taken and the queue is full.
        public static let full = Code(raw: "full")
    }

    public let code: Code
    /// Which bulkhead refused.
    public let bulkhead: String

    public init(code: Code, bulkhead: String) {
        self.code = code
        self.bulkhead = bulkhead
    }

    public var description: String { "bulkhead \(bulkhead): \(code == .full ? "full" : "refused")" }
}
