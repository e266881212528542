import FleetResilience
import HummingbirdBcrypt
import NIOCore
import NIOPosix
import Synchronization

/// Hashes and checks passwords. A protocol so that bulk tools (the seeder) can reuse one
/// hash for many identical passwords without weakening what the server stores for users.
public protocol PasswordHasher: Sendable {
    func hash(_ password: String) async throws -> String
    func verify(_ password: String, against hash: String) async throws -> Bool
    /// A hash of a random secret at the cost real hashes have: checking a password against
    /// it takes as long as against a user's, so a failed login for an unknown address
    /// takes as long as one for a known address.
    func decoyHash() async throws -> String
}

/// bcrypt at a configured cost, on NIO's blocking thread pool (a cost-12 hash takes about
/// a quarter of a second and must never block an event loop or Swift's cooperative
/// threads), behind a bulkhead: as many hashes at once as there are cores, a bounded
/// queue, and `BulkheadError` at once beyond it, so that a burst of sign-ins answers 503
/// quickly instead of queueing without end while every core hashes.
public final class BcryptPasswordHasher: PasswordHasher {
    public let cost: UInt8
    private let bulkhead: Bulkhead
    private let decoy = Mutex<String?>(nil)

    /// - Parameters:
    ///   - concurrency: hashes computed at once (default: one per core).
    ///   - queue: hashes that may wait for one of those; more are refused.
    public init(cost: Int, concurrency: Int? = nil, queue: Int = 32) {
        self.cost = UInt8(clamping: cost)
        self.bulkhead = Bulkhead(name: "bcrypt", maxConcurrent: max(1, concurrency ?? System.coreCount), maxWaiting: max(0, queue))
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await bulkhead.run { try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) } }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await bulkhead.run { try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) } }
    }

    public func decoyHash() async throws -> String {
        if let decoy = decoy.withLock({ $0 }) { return decoy }
        // Two first callers may both make one; either is as good.
        let made = try await hash(TokenService.generateSecret())
        return decoy.withLock { existing in
            if let existing { return existing }
            existing = made
            return made
        }
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

    public func decoyHash() async throws -> String { try await base.decoyHash() }
}
