public import Foundation
public import FleetData
import JWTKit
import Crypto

/// Issues and checks the JWTs that authenticate API calls (`Authorization: Token <jwt>`).
///
/// Tokens are HS256 with an expiry; the subject is the user's id, so a token survives a
/// change of username or e-mail and checking one needs no database round trip.
public struct TokenService: Sendable {
    private let keys: JWTKeyCollection
    private let lifetime: Duration

    public init(secret: String, lifetime: Duration) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
        self.lifetime = lifetime
    }

    public func issue(for userID: FleetID, now: Date = Date()) async throws -> String {
        let payload = TokenPayload(
            subject: SubjectClaim(value: String(userID.rawValue)),
            expiration: ExpirationClaim(value: now.addingTimeInterval(TimeInterval(lifetime.components.seconds))),
            issuedAt: IssuedAtClaim(value: now)
        )
        return try await keys.sign(payload)
    }

    /// The user id a token names, or nil when the token is malformed, forged or expired.
    public func verify(_ token: String) async -> FleetID? {
        guard token.utf8.count <= 4096,
            let payload = try? await keys.verify(token, as: TokenPayload.self),
            let raw = Int64(payload.subject.value), raw > 0
        else { return nil }
        return FleetID(rawValue: raw)
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
    }

    var subject: SubjectClaim
    var expiration: ExpirationClaim
    var issuedAt: IssuedAtClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
    }
}
