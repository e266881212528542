public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` for one test: on a free loopback port, in a temporary folder,
/// with nothing persisted. Tests stop, restart and freeze it to exercise failures.
public final class RedisServerProcess: TestServer, @unchecked Sendable {
    /// The `redis-server` binary: `$FLEET_REDIS_SERVER`, else the first on `PATH`.
    public static let executable: String? = {
        if let path = ProcessInfo.processInfo.environment["FLEET_REDIS_SERVER"] { return path }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/redis-server" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Whether Redis tests run: when the server is installed, or always under
    /// `FLEET_TEST_REQUIRE_REDIS=1` (the project's test command), so a missing server
    /// fails there instead of skipping silently.
    public static var enabled: Bool {
        executable != nil || ProcessInfo.processInfo.environment["FLEET_TEST_REQUIRE_REDIS"] == "1"
    }

    public let port: Int
    public let directory: URL
    private let arguments: [String]
    public var process: Process?

    /// Starts a server; `arguments` are extra `redis-server` options (`--requirepass x`).
    public init(arguments: [String] = []) throws {
        guard Self.executable != nil else { throw ServerError("redis-server is not installed (apt-get install redis-server)") }
        self.port = try Self.freePort()
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-redis-\(UUID().uuidString)")
        self.arguments = arguments
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts the server (again) on the same port and waits until it accepts connections.
    public func start() throws {
        let log = directory.appendingPathComponent("redis.log")
        try? FileManager.default.removeItem(at: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable!)
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--logfile", log.path, "--daemonize", "no",
        ] + arguments
        // Never the test runner's own output: a server left behind would keep it open,
        // and `swift test` waits for it to close.
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try ChildProcess.run(process)
        self.process = process
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let text = try? String(contentsOf: log, encoding: .utf8), text.contains("Ready to accept connections") { return }
            guard process.isRunning else { break }
            usleep(10_000)
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw ServerError("redis-server did not start on port \(port):\n\(text)")
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw ServerError("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public struct ServerError: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}
