public import FleetData
public import FleetHTTP
import Hummingbird

/// How storage failures look to a client: an overloaded or unreachable database is a
/// temporary condition (503, retry shortly), never a bare 500.
extension DatabaseError: APIErrorConvertible {
    public var apiError: APIError {
        switch self {
        case .acquireTimeout, .unavailable:
            APIError(.serviceUnavailable, field: "server", "temporarily unavailable, retry shortly", headers: [.retryAfter: "1"])
        case .uniqueViolation:
            APIError(.conflict, field: "body", "conflicts with existing data")
        case .failed:
            APIError(.internalServerError, field: "server", "internal error")
        }
    }
}
