import FleetResilience
public import HTTPTypes

/// Where a reader's recommendations came from, as the response header
/// `X-Fleet-Recommendations` and the `fleet.recommendations` counter tell it.
public enum RecommendationSource: Sendable, Equatable, Hashable {
    /// Computed for this reader by the recommender.
    case personal
    /// The popular articles, and why.
    case popular(Reason)

    public enum Reason: String, Sendable, CaseIterable {
        /// The recommender did not answer within `recommender.timeout.ms`.
        case timeout
        /// It answered with an error, or could not be reached (refused, reset).
        case error
        /// Its breaker is open: it failed recently, and is not asked until trial calls.
        case breakerOpen = "breaker-open"
        /// This instance already has as many calls to it as it allows.
        case bulkheadFull = "bulkhead-full"
        /// Nobody is signed in.
        case anonymous
        /// `recommender.url` is unset.
        case unconfigured
        /// The recommender had nothing for this reader (no favorites yet).
        case empty

        /// The reason a failed call falls back for.
        init(_ error: any Error) {
            switch error {
            case is CircuitBreakerError: self = .breakerOpen
            case is BulkheadError: self = .bulkheadFull
            case let error as RecommenderError where error.code == .timeout: self = .timeout
            default: self = .error
            }
        }
    }

    public static var headerName: HTTPField.Name { HTTPField.Name("X-Fleet-Recommendations")! }

    /// `personal`, or `popular; reason=timeout`.
    public var header: String {
        switch self {
        case .personal: "personal"
        case .popular(let reason): "popular; reason=\(reason.rawValue)"
        }
    }

    /// Every source, for counters made up front.
    static var all: [RecommendationSource] { [.personal] + Reason.allCases.map { .popular($0) } }

    /// The counter's labels.
    var labels: (source: String, reason: String) {
        switch self {
        case .personal: ("personal", "none")
        case .popular(let reason): ("popular", reason.rawValue)
        }
    }
}
