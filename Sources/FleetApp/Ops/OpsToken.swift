import Crypto

/// The check of the token the ops page's actions require (`ops.admin.token`). Both sides
/// are hashed first and the digests compared without an early exit, so that neither the
/// time taken nor the token's length tells a guesser how close they came.
struct OpsToken: Sendable {
    private let digest: [UInt8]?

    /// - Parameter secret: the configured token; nil (unset) refuses every action.
    init(_ secret: String?) {
        digest = secret.map { Array(SHA256.hash(data: Array($0.utf8))) }
    }

    var isEnabled: Bool { digest != nil }

    /// Whether `candidate` is the token.
    func accepts(_ candidate: String?) -> Bool {
        guard let digest, let candidate else { return false }
        let given = Array(SHA256.hash(data: Array(candidate.utf8)))
        var difference: UInt8 = 0
        for (a, b) in zip(digest, given) { difference |= a ^ b }
        return difference == 0 && given.count == digest.count
    }
}
