public import Hummingbird
public import FleetData
public import FleetHTTP

/// The per-request state of a Conduit request: who is asking, if anyone, and from where.
public struct ConduitContext: ClientAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token that authenticated the request, set by `AuthenticationMiddleware`.
    public var credentials: Credentials?
    /// The authenticated user.
    public var viewer: FleetID? { credentials?.user }
    /// The authenticated user's entry, as the token's check read it.
    var account: CachedUser?

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
        try requireCredentials().user
    }

    /// The token that authenticated the request, or 401.
    public func requireCredentials() throws -> Credentials {
        guard let credentials else { throw ConduitError.missingToken }
        return credentials
    }

    /// The token that authenticated the request and its user's entry, or 401.
    func requireAccount() throws -> (Credentials, CachedUser) {
        guard let credentials, let account else { throw ConduitError.missingToken }
        return (credentials, account)
    }

    /// Whom per-client state is kept for: the signed-in user, else the client address.
    var principalKey: String { viewer.map { "user:\($0.rawValue)" } ?? clientKey }
}
