/// How an adaptive concurrency limit moves (see `AdaptiveLimiterState`).
public struct AdaptiveLimitPolicy: Sendable, Equatable {
    public var initialLimit = 20.0
    public var minimumLimit = 4.0
    public var maximumLimit = 1_000.0
    /// How far the recent latency may rise over the long-term latency before the limit
    /// shrinks: 1.5 lets the short-term average reach 1.5 times the long-term one.
    public var tolerance = 1.5
    /// The share of the step to a new estimate taken at each update (0...1).
    public var smoothing = 0.2
    /// Samples are averaged over windows at least this long and this many samples...
    public var windowDuration: Duration = .milliseconds(250)
    public var windowSamples = 10
    /// ...and the long-term latency is an average over about this many windows.
    public var longWindows = 100.0
    /// The factor the limit is multiplied by after a window with a dropped call (a
    /// timeout, a refusal downstream): drops say "too much" more clearly than latency.
    public var dropFactor = 0.9

    public init() {}
}
