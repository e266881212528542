import FleetSupport

/// Runs `operation`, or throws `DatabaseError.unavailable` when it takes longer than
/// `limit` (a node that accepts connections but does not answer); see `withDeadline`.
func withTimeout<Result: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
    try await withDeadline(limit, orThrow: { DatabaseError.unavailable("no answer within \(limit)") }, operation)
}
