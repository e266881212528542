extension CircuitBreakerPolicy {
    /// For a dependency called many times a second, such as a PostgreSQL node or Redis:
    /// judged on the last 20 calls (a node's health probes alone fill that in two seconds),
    /// open when half of at least 10 failed, tried again after a second. Slowness alone
    /// does not open it: a slow query is the query's fault more often than the node's, and
    /// a node that does not answer at all fails its timeouts.
    public static var frequentlyCalled: CircuitBreakerPolicy {
        CircuitBreakerPolicy(
            window: .count(20), minimumCalls: 10, failureRateThreshold: 0.5, slowCallRateThreshold: 1.0,
            slowCallDuration: .seconds(30), openDuration: .seconds(1), halfOpenPermits: 3
        )
    }
}
