public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of one test's own (`scripts/postgres.sh`), for tests that stop or
/// restart the server under a running fleet, which a shared server cannot take.
public final class PostgresServerProcess: @unchecked Sendable {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/postgres.sh").standardized

    public let directory: URL
    public let port: Int
    /// The URL of its `postgres` database.
    public let url: String

    public init() throws {
        port = try RedisServerProcess.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-pg-\(UUID().uuidString)")
        url = try Self.run(["start", directory.path, "\(port)"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        // A frozen server would never finish stopping.
        _ = try? Self.run(["thaw", directory.path])
        _ = try? Self.run(["stop", directory.path])
        try? FileManager.default.removeItem(at: directory)
    }

    /// Stops the server (fast: connections are cut) and starts it again.
    public func restart() throws {
        _ = try Self.run(["restart", directory.path])
    }

    /// Crashes the server (`pg_ctl stop -m immediate`: every backend killed at once, as
    /// when the machine dies) and leaves it down.
    public func crash() throws {
        _ = try Self.run(["crash", directory.path])
    }

    /// Freezes the server and its backends (SIGSTOP): connections stay open and nothing
    /// answers, as with a hung server or one cut off without a reset.
    public func freeze() throws {
        _ = try Self.run(["freeze", directory.path])
    }

    public func thaw() throws {
        _ = try Self.run(["thaw", directory.path])
    }

    /// Runs the script to its end. Spawned and awaited with posix_spawn and waitpid, not
    /// `Process`: the script leaves a daemon behind (the server), and Foundation's exit
    /// monitoring was seen to miss the script's own exit then, hanging the test.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-pg-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ["/bin/bash", script.path] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw RedisServerProcess.ServerError("cannot run scripts/postgres.sh: error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        // Exited normally (low 7 bits zero) with code 0.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw RedisServerProcess.ServerError("scripts/postgres.sh \(arguments.joined(separator: " ")) failed:\n\(text)")
        }
        return text
    }
}
