import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// Hashes and checks passwords. A protocol so that bulk tools (the seeder) can reuse one
/// hash for many identical passwords without weakening what the server stores for users.
public protocol PasswordHasher: Sendable {
    func hash(_ password: String) async throws -> String
    func verify(_ password: String, against hash: String) async throws -> Bool
}

/// bcrypt at a configured cost, run on NIO's blocking thread pool: a cost-12 hash takes
/// about a quarter of a second and must never block an event loop.
public struct BcryptPasswordHasher: PasswordHasher {
    public let cost: UInt8

    public init(cost: Int) {
        self.cost = UInt8(clamping: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}

/// Remembers the hash of each distinct password it has seen. Only for generating data
/// sets where thousands of users share a password; never for real sign-ups.
public final class MemoizingPasswordHasher<Base: PasswordHasher>: PasswordHasher {
    private let base: Base
    private let hashes = Mutex<[String: String]>([:])

    public init(_ base: Base) {
        self.base = base
    }

    public func hash(_ password: String) async throws -> String {
        if let known = hashes.withLock({ $0[password] }) { return known }
        let hashed = try await base.hash(password)
        hashes.withLock { $0[password] = hashed }
        return hashed
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await base.verify(password, against: hash)
    }
}
