public import FleetSupport
import Metrics
import Synchronization

/// Retries failed calls with exponential backoff and full jitter, within a `RetryBudget`
/// shared by every call through it: a retry is made only when the error is retryable,
/// attempts are left, and the budget allows one. Nothing is retried after cancellation.
///
/// Metrics: `fleet.retries` (`name`, `result` = retried or refused, the latter when the
/// budget was spent).
public final class Retrier: Sendable {
    public let name: String
    public let attempts: Int
    private let backoff: Backoff
    private let budget: Mutex<RetryBudget>
    private let origin = ContinuousClock.now
    private let retried: Counter
    private let refused: Counter

    public init(name: String, attempts: Int = 3, backoff: Backoff = Backoff(first: .milliseconds(20), max: .milliseconds(500)), budget: RetryBudget = .init()) {
        self.name = name
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.budget = Mutex(budget)
        self.retried = Counter(label: "fleet.retries", dimensions: [("name", name), ("result", "retried")])
        self.refused = Counter(label: "fleet.retries", dimensions: [("name", name), ("result", "refused")])
    }

    /// Runs `body`, retrying it while `isRetryable` says so and attempts and budget last.
    public func run<Result>(isRetryable: (any Error) -> Bool, _ body: () async throws -> Result) async throws -> Result {
        budget.withLock { $0.recordRequest(at: second) }
        var backoff = self.backoff
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch {
                guard attempt < attempts, isRetryable(error), !Task.isCancelled else { throw error }
                guard budget.withLock({ $0.withdraw(at: second) }) else {
                    refused.increment()
                    throw error
                }
                retried.increment()
                attempt += 1
                try await Task.sleep(for: backoff.next())
            }
        }
    }

    private var second: Int64 { (ContinuousClock.now - origin).components.seconds }
}
