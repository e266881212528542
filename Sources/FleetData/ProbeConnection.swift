import Logging
import PostgresNIO
import Synchronization

/// The health probes' own connection to a PostgreSQL node, outside its pool, so that a
/// probe measures the server and not the pool's queue: through the pool, a probe under
/// load waited behind the requests for a connection, and a busy moment read as a silent
/// server.
///
/// At most one connection attempt is under way at a time; probes share it. A server that
/// refuses connections fails a probe at once, one that accepts and never answers (frozen)
/// leaves the attempt running while each probe gives up at its own deadline, and an
/// attempt that completes after its probe gave up is kept for the next one (so a frozen
/// server does not collect one attempt per probe). A connection a probe got no answer on
/// is `discard`ed: its state is unknown.
final class ProbeConnection: Sendable {
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let slot = Mutex(Slot())

    private struct Slot {
        var attempt: Task<PostgresConnection, any Error>?
        /// After `shutDown`, no new attempt is made.
        var isShutDown = false
    }

    init(_ configuration: PostgresConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The open connection, once the attempt under way (or a new one) has made it.
    func connection() async throws -> PostgresConnection {
        let attempt = try slot.withLock { slot in
            if let attempt = slot.attempt { return attempt }
            guard !slot.isShutDown else { throw DatabaseError.unavailable("shutting down") }
            let (configuration, logger) = (configuration, logger)
            let attempt = Task { try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger) }
            slot.attempt = attempt
            return attempt
        }
        let connection: PostgresConnection
        do {
            connection = try await attempt.value
        } catch {
            forget(attempt)
            throw error
        }
        guard !connection.isClosed else {
            forget(attempt)
            throw DatabaseError.unavailable("the probes' connection is closed")
        }
        return connection
    }

    /// Drops the connection (closing it) and any attempt under way; the next probe makes
    /// a new one.
    func discard() {
        guard let attempt = slot.withLock({ slot in defer { slot.attempt = nil }; return slot.attempt }) else { return }
        Self.close(attempt)
    }

    /// Closes the connection for good (at shutdown).
    func shutDown() {
        slot.withLock { $0.isShutDown = true }
        discard()
    }

    deinit {
        // postgres-nio requires a connection to be closed before it goes.
        if let attempt = slot.withLock({ $0.attempt }) { Self.close(attempt) }
    }

    private func forget(_ attempt: Task<PostgresConnection, any Error>) {
        slot.withLock { slot in if slot.attempt == attempt { slot.attempt = nil } }
        Self.close(attempt)
    }

    private static func close(_ attempt: Task<PostgresConnection, any Error>) {
        Task { try? await attempt.value.close() }
    }
}
