/// How one request ended: answered as hoped, or an error of a named kind. Kinds are what
/// the report counts errors by: `http 503`, `timeout`, `connect`, and `dropped` for a
/// request the open model could not start because too many were in flight.
public enum RequestOutcome: Sendable, Equatable {
    case success
    case failure(String)

    /// A request that was due but not sent: the in-flight cap was reached. Counted, never
    /// skipped silently, so an overloaded target shows as errors rather than as a lower rate.
    public static let dropped = RequestOutcome.failure("dropped")

    /// A non-2xx answer, counted by its status.
    public static func status(_ code: Int) -> RequestOutcome { .failure("http \(code)") }
}

/// The traffic a driver sends, one request at a time. `pick` chooses the next request's
/// operation (cheaply, so that a request that is dropped still counts against an operation);
/// `perform` sends it. Each request has a sequence number, so a workload can derive its
/// random choices from it and repeat a run with the same seed.
public protocol LoadWorkload: Sendable {
    func pick(_ sequence: Int) -> String
    func perform(_ operation: String, sequence: Int) async -> RequestOutcome
}
