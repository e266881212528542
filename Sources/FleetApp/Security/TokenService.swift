public import Foundation
public import FleetData
import JWTKit
import Crypto

/// Issues and checks the JWTs that authenticate API calls (`Authorization: Token <jwt>`).
///
/// Tokens are HS256 with an expiry. The subject is the user's id, so a token survives a
/// change of username or bio; `ver` is the user's token version when it was issued,
/// which a change of password or e-mail raises (`UserService.accepts`); `jti` identifies
/// the token itself, so that the one that made such a change can be kept. Tokens from
/// before versions existed have neither: their version reads as 0.
public struct TokenService: Sendable {
    private let keys: JWTKeyCollection
    private let lifetime: Duration

    public init(secret: String, lifetime: Duration) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.lifetime = lifetime
    }

    public func issue(for userID: FleetID, version: Int64, now: Date = Date()) async throws -> String {
        let payload = TokenPayload(
            subject: SubjectClaim(value: String(userID.rawValue)),
            expiration: ExpirationClaim(value: now.addingTimeInterval(TimeInterval(lifetime.components.seconds))),
            issuedAt: IssuedAtClaim(value: now),
            id: IDClaim(value: SymmetricKey(size: .bits128).withUnsafeBytes { Data($0).base64EncodedString() }),
            version: version
        )
        return try await keys.sign(payload)
    }

    /// What a token says, or nil when it is malformed, forged or expired. Whether it still
    /// stands (its version, its user) is the caller's check.
    public func verify(_ token: String) async -> Credentials? {
        guard token.utf8.count <= 4096,
            let payload = try? await keys.verify(token, as: TokenPayload.self),
            let raw = Int64(payload.subject.value), raw > 0
        else { return nil }
        return Credentials(user: FleetID(rawValue: raw), version: payload.version ?? 0, tokenID: payload.id?.value, token: token)
    }

    /// A random 256-bit secret, base64-encoded.
    public static func generateSecret() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }
}

struct TokenPayload: JWTPayload {
    enum CodingKeys: String, CodingKey {
        case subject = "sub"
        case expiration = "exp"
        case issuedAt = "iat"
        case id = "jti"
        case version = "ver"
    }

    var subject: SubjectClaim
    var expiration: ExpirationClaim
    var issuedAt: IssuedAtClaim
    var id: IDClaim?
    var version: Int64?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
    }
}

/// A token that verified: whose it is, at which version, which token it is, and the token
/// as presented (`GET /api/user` echoes it).
public struct Credentials: Sendable {
    public let user: FleetID
    public let version: Int64
    /// The token's own id (`jti`); nil for tokens issued before tokens had one.
    public let tokenID: String?
    public let token: String
}
