public import Hummingbird

/// Reads `Authorization: Token <jwt>` (or `Bearer <jwt>`) and sets the viewer.
///
/// No header means an anonymous request, which endpoints that need a user refuse with
/// 401. A header that is present but malformed, forged, expired or revoked (issued before
/// the user's last change of credentials) is refused here with 401 whatever the
/// endpoint, so a client never mistakes a broken session for anonymity.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = ConduitContext
    let services: ConduitServices

    public init(services: ConduitServices) {
        self.services = services
    }

    public func handle(_ request: Request, context: ConduitContext, next: (Request, ConduitContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return try await next(request, context)
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, ["token", "bearer"].contains(parts[0].lowercased()) else { throw ConduitError.invalidToken }
        let token = String(parts[1]).trimmingWhitespace()
        guard let credentials = await services.tokens.verify(token), let account = try await services.users.authenticate(credentials) else {
            throw ConduitError.invalidToken
        }
        var context = context
        context.credentials = credentials
        context.account = account
        context.logger[metadataKey: "user_id"] = "\(credentials.user.rawValue)"
        return try await next(request, context)
    }
}
