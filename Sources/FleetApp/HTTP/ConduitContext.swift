public import Hummingbird
public import FleetData
public import FleetHTTP

/// The per-request state of a Conduit request: who is asking, if anyone, and from where.
public struct ConduitContext: ClientAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated user, set by `AuthenticationMiddleware` from a valid token.
    public var viewer: FleetID?
    /// The token as presented, echoed back by `GET /api/user`.
    public var token: String?

    public let peerAddress: IPAddress?
    public var clientAddress: IPAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
    }

    /// `BodyLimitMiddleware` enforces the configured limit; this is only a backstop.
    public var maxUploadSize: Int { 64 * 1024 * 1024 }

    /// The authenticated user, or 401 for endpoints that need one.
    public func requireViewer() throws -> FleetID {
        guard let viewer else { throw ConduitError.missingToken }
        return viewer
    }

    /// Whom per-client state is kept for: the signed-in user, else the client address.
    var principalKey: String { viewer.map { "user:\($0.rawValue)" } ?? clientKey }
}
