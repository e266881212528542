public import FleetResilience

extension CircuitBreakerPolicy {
    /// For one PostgreSQL node: judged on the last 20 calls (health probes run ten times
    /// a second, so an idle node still fills the window in two seconds), open when half
    /// of at least 10 failed, tried again after a second. Slowness alone does not open it:
    /// a slow query is the query's fault more often than the node's, and a node that does
    /// not answer at all fails its probes' timeouts.
    public static var databaseNode: CircuitBreakerPolicy {
        CircuitBreakerPolicy(
            window: .count(20), minimumCalls: 10, failureRateThreshold: 0.5, slowCallRateThreshold: 1.0,
            slowCallDuration: .seconds(30), openDuration: .seconds(1), halfOpenPermits: 3
        )
    }
}
