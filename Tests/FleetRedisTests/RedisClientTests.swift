import FleetTestSupport
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import FleetRedis

/// Runs `body` with a client on a real server, the client's service running meanwhile.
func withClient<T: Sendable>(
    _ configuration: RedisConfiguration, _ body: (RedisClient) async throws -> T
) async throws -> T {
    let client = RedisClient(configuration, logger: Logger(label: "test"))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        defer { group.cancelAll() }
        try await client.waitUntilConnected()
        return try await body(client)
    }
}

func configuration(_ server: RedisServerProcess) -> RedisConfiguration {
    RedisConfiguration(host: "127.0.0.1", port: server.port)
}

@Suite(.enabled(if: RedisServerProcess.enabled, "needs redis-server"))
struct RedisClientTests {
    @Test(arguments: [true, false]) func protocolEdgeCases(resp3: Bool) async throws {
        let server = try RedisServerProcess()
        var config = configuration(server)
        config.preferRESP3 = resp3
        // Megabytes through a debug build on a machine busy with the other tests.
        config.commandTimeout = .seconds(10)
        try await withClient(config) { redis in
            #expect(try await redis.send(RedisCommand("GET", "missing")) == .null)
            try await redis.send(RedisCommand("SET", "empty", ""))
            #expect(try await redis.send(RedisCommand("GET", "empty")) == .bulkString(ByteBuffer()))
            // Large and binary values round-trip byte for byte.
            let large = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try await redis.send(RedisCommand("SET", "large", .bytes(large)))
            #expect(try await redis.send(RedisCommand("GET", "large")).bytes == large)
            // Nested arrays, integers, nil and errors inside a script's reply.
            let nested = try await redis.send(RedisCommand("EVAL", "return {1, {'a', {2}}, false}", 0))
            #expect(nested == .array([.integer(1), .array(["a", .array([.integer(2)])]), .null]))
            // A top-level error reply is thrown; in a pipeline it is a value beside the others.
            await #expect(throws: RedisError.server("ERR value is not an integer or out of range")) {
                try await redis.send(RedisCommand("INCR", "empty"))
            }
            let replies = try await redis.pipeline([RedisCommand("INCR", "n"), RedisCommand("INCR", "empty"), RedisCommand("INCR", "n")])
            #expect(replies[0] == .integer(1) && replies[2] == .integer(2))
            guard case .error = replies[1] else { Issue.record("expected an error value"); return }
            // Maps are maps in RESP3 and flat arrays in RESP2.
            try await redis.send(RedisCommand("HSET", "h", "f", "v"))
            let hash = try await redis.send(RedisCommand("HGETALL", "h"))
            if resp3 {
                #expect(hash == .map([.init(key: "f", value: "v")]))
            } else {
                #expect(hash == .array(["f", "v"]))
            }
        }
    }

    @Test func fallsBackToRESP2WithoutHello() async throws {
        let server = try RedisServerProcess(arguments: ["--rename-command", "HELLO", ""])
        try await withClient(configuration(server)) { redis in
            let reply = try await redis.send(RedisCommand("PING"))
            #expect(reply.string == "PONG")
        }
        let connection = try await RedisConnection.connect(configuration(server), on: MultiThreadedEventLoopGroup.singleton.next())
        #expect(connection.protocolVersion == 2)
        await connection.close()
    }

    @Test func concurrentCallersArePipelinedAndEachGetsItsOwnReply() async throws {
        let server = try RedisServerProcess()
        try await withClient(configuration(server)) { redis in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for caller in 0..<64 {
                    group.addTask {
                        for round in 0..<50 {
                            let value = "\(caller)-\(round)"
                            try await redis.send(RedisCommand("SET", .string("k\(caller)"), .string(value)))
                            #expect(try await redis.send(RedisCommand("GET", .string("k\(caller)"))).string == value)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test func authenticatesWithUserAndPasswordAndSelectsDatabase() async throws {
        let server = try RedisServerProcess(arguments: [
            "--user", "default", "off", "--user", "fleet", "on", ">s3cret", "~*", "&*", "+@all",
        ])
        var config = configuration(server)
        config.username = "fleet"
        config.password = "s3cret"
        config.database = 3
        for resp3 in [true, false] {
            config.preferRESP3 = resp3
            try await withClient(config) { redis in
                try await redis.send(RedisCommand("SET", "where", "db3"))
                #expect(try await redis.send(RedisCommand("CLIENT", "INFO")).string?.contains("db=3") == true)
            }
        }
        var wrong = config
        wrong.password = "nope"
        await #expect(throws: RedisError.self) {
            try await RedisConnection.connect(wrong, on: MultiThreadedEventLoopGroup.singleton.next())
        }
    }

    @Test func scriptsLoadThemselvesAfterAFlush() async throws {
        let server = try RedisServerProcess()
        try await withClient(configuration(server)) { redis in
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            #expect(try await redis.run(script, keys: ["c"], arguments: [5]) == .integer(5))
            #expect(try await redis.send(RedisCommand("SCRIPT", "EXISTS", .string(script.sha1))) == .array([.integer(1)]))
            try await redis.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await redis.run(script, keys: ["c"], arguments: [2]) == .integer(7))
        }
    }

    @Test func survivesAServerRestartInTheMiddleOfTraffic() async throws {
        let server = try RedisServerProcess()
        try await withClient(configuration(server)) { redis in
            var failures = 0
            var successesAfterRestart = 0
            let start = ContinuousClock.now
            for round in 0..<400 {
                if round == 100 { server.stop() }
                if round == 150 { try server.start() }
                let before = ContinuousClock.now
                do {
                    try await redis.send(RedisCommand("SET", "k", .integer(round)))
                    if round > 150 { successesAfterRestart += 1 }
                } catch {
                    failures += 1
                    // Failing fast while the server is away: no caller waits on a dead socket.
                    #expect(ContinuousClock.now - before < .seconds(1))
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(failures > 0, "the outage was seen")
            // Of the 249 rounds after the restart, most succeed: the client reconnects by
            // itself, and its breaker (open after the outage's failures) lets trial
            // commands through a second later.
            #expect(successesAfterRestart > 100, "the client reconnected by itself")
            #expect(try await redis.send(RedisCommand("GET", "k")).int == 399)
            #expect(ContinuousClock.now - start < .seconds(30))
        }
    }

    @Test func aStalledServerTimesOutInsteadOfHanging() async throws {
        let server = try RedisServerProcess()
        var config = configuration(server)
        config.commandTimeout = .milliseconds(200)
        config.connectTimeout = .milliseconds(200)
        try await withClient(config) { redis in
            try await redis.send(RedisCommand("SET", "k", "v"))
            server.pause()
            let before = ContinuousClock.now
            await #expect(throws: RedisError.self) { try await redis.send(RedisCommand("GET", "k")) }
            // The timeout is 200 ms; the margin is for a machine busy with other tests (a
            // call that hangs would wait as long as the server stays frozen).
            #expect(ContinuousClock.now - before < .seconds(10))
            // While it stays frozen, calls keep failing within the timeout.
            for _ in 0..<5 {
                let start = ContinuousClock.now
                _ = try? await redis.send(RedisCommand("GET", "k"))
                #expect(ContinuousClock.now - start < .seconds(10))
            }
            server.resume()
            try await redis.waitUntilConnected()
            var recovered = false
            for _ in 0..<100 where !recovered {
                recovered = (try? await redis.send(RedisCommand("GET", "k")))?.string == "v"
                if !recovered { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(recovered)
        }
    }

    @Test func subscriberReceivesMessagesAndResubscribesAfterARestart() async throws {
        let server = try RedisServerProcess()
        let (stream, continuation) = AsyncStream.makeStream(of: RedisSubscriber.Event.self)
        let subscriber = RedisSubscriber(configuration(server), channels: ["news"], logger: Logger(label: "test")) { continuation.yield($0) }
        try await withClient(configuration(server)) { redis in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await subscriber.run() }
                defer { group.cancelAll() }
                var events = stream.makeAsyncIterator()
                #expect(await events.next() == .subscribed)
                try await redis.send(RedisCommand("PUBLISH", "news", "one"))
                #expect(await events.next() == .message(channel: "news", payload: ByteBuffer(string: "one")))
                server.stop()
                #expect(await events.next() == .disconnected)
                try server.start()
                var event = await events.next()
                while event == .disconnected { event = await events.next() }
                #expect(event == .subscribed)
                try await redis.waitUntilConnected(timeout: .seconds(10))
                var delivered = 0
                for _ in 0..<100 where delivered == 0 {
                    delivered = (try? await redis.send(RedisCommand("PUBLISH", "news", "two")))?.int ?? 0
                    if delivered == 0 { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(await events.next() == .message(channel: "news", payload: ByteBuffer(string: "two")))
            }
        }
    }

    /// A message published before `barrier()` is called has been handled when it returns.
    @Test func barrierWaitsForEveryEarlierMessage() async throws {
        let server = try RedisServerProcess()
        let seen = Seen()
        let subscriber = RedisSubscriber(configuration(server), channels: ["c"], logger: Logger(label: "test")) { event in
            if case .message(_, let payload) = event { _ = seen.values.withLock { $0.insert(String(buffer: payload)) } }
        }
        try await withClient(configuration(server)) { redis in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await subscriber.run() }
                defer { group.cancelAll() }
                while !subscriber.isSubscribed { try await Task.sleep(for: .milliseconds(5)) }
                try await withThrowingTaskGroup(of: Void.self) { callers in
                    for caller in 0..<16 {
                        callers.addTask {
                            for round in 0..<50 {
                                let value = "\(caller)-\(round)"
                                try await redis.send(RedisCommand("PUBLISH", "c", .string(value)))
                                try await subscriber.barrier()
                                #expect(seen.values.withLock { $0.contains(value) }, "\(value) not delivered before the barrier returned")
                            }
                        }
                    }
                    try await callers.waitForAll()
                }
            }
        }
    }
}

final class Seen: Sendable {
    let values = Mutex<Set<String>>([])
}
