import Foundation
import Logging

/// The token secret: `auth.jwt.secret`, or for the embedded default one generated once
/// and kept in the data folder (mode 0600) so tokens survive restarts. Never logged.
enum TokenSecret {
    static func resolve(_ settings: FleetSettings, logger: Logger) throws -> String {
        if let secret = settings.jwtSecret { return secret }
        let path = settings.dataDirectory + "/jwt-secret"
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingWhitespace(), existing.utf8.count >= 32 {
            logger.info("using the JWT secret stored in the data folder", metadata: ["path": "\(path)"])
            return existing
        }
        let secret = TokenService.generateSecret()
        guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SettingsError("cannot write \(path)")
        }
        logger.notice(
            "no auth.jwt.secret configured: generated a random one and stored it in the data folder; set FLEET_AUTH_JWT_SECRET to share one across instances",
            metadata: ["path": "\(path)"]
        )
        return secret
    }
}
