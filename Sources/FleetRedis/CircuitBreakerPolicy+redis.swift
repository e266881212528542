public import FleetResilience

extension CircuitBreakerPolicy {
    /// For Redis: judged on the last 20 commands, open when half of at least 10 failed,
    /// tried again after a second. Redis is an optimization here (cache, shared limits),
    /// so while it fails every caller takes its fallback at once instead of waiting out
    /// the command timeout.
    public static var redis: CircuitBreakerPolicy {
        CircuitBreakerPolicy(
            window: .count(20), minimumCalls: 10, failureRateThreshold: 0.5, slowCallRateThreshold: 1.0,
            slowCallDuration: .seconds(30), openDuration: .seconds(1), halfOpenPermits: 3
        )
    }
}
