public import Foundation
public import FleetData
import JWTKit
import Crypto

/// Issues and checks the JWTs that authenticate API calls (`Authorization: Token <jwt>`).
///
/// Tokens are HS256 with an expiry. The subject is the user's id, so a token survives a
/// change of username or bio; `ver` is the user's token version when it was issued,
/// which a change of password or e-mail raises (`UserService.acceptsToken`). Tokens
/// from before versions existed have none, which reads as 0.
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
            version: version
        )
        return try await keys.sign(payload)
    }

    /// The user id and token version a token names, or nil when the token is malformed,
    /// forged or expired. Whether the version is still the user's is the caller's check.
    public func verify(_ token: String) async -> (user: FleetID, version: Int64)? {
        guard token.utf8.count <= 4096,
            let payload = try? await keys.verify(token, as: TokenPayload.self),
            let raw = Int64(payload.subject.value), raw > 0
        else { return nil }
        return (FleetID(rawValue: raw), payload.version ?? 0)
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
        case version = "ver"
    }

    var subject: SubjectClaim
    var expiration: ExpirationClaim
    var issuedAt: IssuedAtClaim
    var version: Int64?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
    }
}
