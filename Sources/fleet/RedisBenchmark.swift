import ArgumentParser
import FleetRedis
import FleetSupport
import Logging

/// Measures FleetRedis against a Redis server the way `redis-benchmark` does: N callers,
/// each sending one command and waiting for its reply, for SET then GET.
struct RedisBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-benchmark",
        abstract: "GET/SET throughput of Fleet's Redis client (compare with redis-benchmark -c N -P 1)."
    )

    @Option(help: "The Redis server.") var url = "redis://127.0.0.1:6379"
    @Option(help: "Concurrent callers.") var clients = 32
    @Option(help: "Requests per command.") var requests = 200_000
    @Option(help: "Multiplexed connections of the client.") var connections = 2
    @Option(help: "Value size in bytes.") var size = 3

    func run() async throws {
        var configuration = try RedisConfiguration(url: url)
        configuration.connections = connections
        configuration.commandTimeout = .seconds(5)
        let client = RedisClient(configuration, logger: Logger(label: "redis-benchmark"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            try await client.waitUntilConnected()
            let value = RedisArgument.string(String(repeating: "x", count: size))
            for (name, command) in [("SET", RedisCommand("SET", "key:__rand_int__", value)), ("GET", RedisCommand("GET", "key:__rand_int__"))] {
                let perClient = requests / clients
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { callers in
                    for _ in 0..<clients {
                        callers.addTask {
                            for _ in 0..<perClient { _ = try await client.send(command) }
                        }
                    }
                    try await callers.waitForAll()
                }
                let elapsed = ContinuousClock.now - start
                let seconds = elapsed.inSeconds
                print("\(name): \(Int(Double(perClient * clients) / seconds)) requests per second (\(clients) callers, \(connections) connections)")
            }
        }
    }
}
