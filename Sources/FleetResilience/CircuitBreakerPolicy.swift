/// When a circuit breaker opens and how it tries again. The defaults suit a dependency
/// called many times a second (a database node, Redis): judged over the last 10 seconds,
/// opened when half of at least 10 calls failed or ran slow, retried after 5 seconds with
/// three trial calls.
public struct CircuitBreakerPolicy: Sendable, Equatable {
    /// Which recent calls are judged.
    public var window: OutcomeWindow.Kind = .time(seconds: 10)
    /// Fewer calls than this in the window never open the breaker: two failures of the
    /// first three calls after a quiet night are not an outage.
    public var minimumCalls = 10
    /// The share of failed calls (0...1) at or past which the breaker opens.
    public var failureRateThreshold = 0.5
    /// The share of slow calls (0...1) at or past which the breaker opens: a dependency
    /// that answers in ten seconds is as good as down, and slower to notice.
    public var slowCallRateThreshold = 1.0
    /// A call that takes longer than this is slow (whether or not it succeeded).
    public var slowCallDuration: Duration = .seconds(2)
    /// How long the breaker stays open before it lets trial calls through.
    public var openDuration: Duration = .seconds(5)
    /// Trial calls let through while half-open; the breaker closes when fewer than the
    /// thresholds of them failed or ran slow, and opens again otherwise.
    public var halfOpenPermits = 3

    public init() {}

    public init(
        window: OutcomeWindow.Kind = .time(seconds: 10), minimumCalls: Int = 10, failureRateThreshold: Double = 0.5,
        slowCallRateThreshold: Double = 1.0, slowCallDuration: Duration = .seconds(2), openDuration: Duration = .seconds(5),
        halfOpenPermits: Int = 3
    ) {
        self.window = window
        self.minimumCalls = max(1, minimumCalls)
        self.failureRateThreshold = failureRateThreshold
        self.slowCallRateThreshold = slowCallRateThreshold
        self.slowCallDuration = slowCallDuration
        self.openDuration = openDuration
        self.halfOpenPermits = max(1, halfOpenPermits)
    }
}
