import Configuration
import FleetTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Clients that trickle a request or sit idle are cut off at the configured deadlines,
/// and others are served meanwhile; past `http.max.connections`, new connections wait.
@Suite struct SlowClientTests {
    /// Short header and body deadlines; the idle one long unless a test times it (the
    /// test client's own connection sits idle while a busy machine delays the test).
    static func deadlines(idleSeconds: Int = 60) -> [AbsoluteConfigKey: ConfigValue] {
        [
            "http.header.timeout.ms": .init(.int(1000), isSecret: false), "http.body.timeout.ms": .init(.int(1000), isSecret: false),
            "http.idle.timeout.seconds": .init(.int(idleSeconds), isSecret: false),
        ]
    }
    static let idle = Duration.seconds(4)

    /// Sends `text` a byte every `pause` until the server closes the connection; returns
    /// how many bytes went out and how long it took. On a thread of its own, so that a
    /// busy machine cannot make the trickle slower than meant.
    static func trickle(_ text: String, to socket: RawSocket, pause: Duration) async throws -> (sent: Int, took: Duration) {
        try await onOwnThread {
            let start = ContinuousClock.now
            var sent = 0
            for character in text {
                guard socket.send(String(character)), !socket.isClosedByServer else { break }
                sent += 1
                Thread.sleep(forTimeInterval: Double(pause / .milliseconds(1)) / 1000)
            }
            return (sent, ContinuousClock.now - start)
        }
    }

    @Test func aClientSendingAByteASecondIsCutOffWhileOthersAreServed() async throws {
        try await TestConduit.make(Self.deadlines()).test(.live) { client in
            let port = try #require(client.port)
            let headers = "GET /api/tags HTTP/1.1\r\nHost: fleet\r\nX-Padding: " + String(repeating: "p", count: 40) + "\r\n\r\n"
            let body = "POST /api/users HTTP/1.1\r\nHost: fleet\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n"
                + String(repeating: " ", count: 60)
            async let slowHeaders = Self.trickle(headers, to: try RawSocket(port: port), pause: .milliseconds(250))
            // The headers go at once; the body trickles.
            let bodySocket = try RawSocket(port: port)
            bodySocket.send(String(body.prefix(while: { $0 != " " })))
            async let slowBody = Self.trickle(String(body.drop(while: { $0 != " " })), to: bodySocket, pause: .milliseconds(250))
            // Meanwhile, other clients are served, long before a trickle would end (15 s
            // and more; the bounds are loose: the test suite keeps both cores busy).
            for _ in 0..<10 {
                let started = ContinuousClock.now
                #expect(try await client.send(.get, "/api/tags").status == .ok)
                #expect(ContinuousClock.now - started < .seconds(10))
                try await Task.sleep(for: .milliseconds(100))
            }
            let (headerBytes, headerTime) = try await slowHeaders
            let (bodyBytes, bodyTime) = try await slowBody
            #expect(headerBytes < headers.utf8.count, "the server waited for the whole trickled header")
            #expect(headerTime < .seconds(10))
            #expect(bodyBytes < 60, "the server waited for the whole trickled body")
            #expect(bodyTime < .seconds(10))
        }
    }

    @Test func anIdleConnectionIsClosed() async throws {
        try await TestConduit.make(Self.deadlines(idleSeconds: Int(Self.idle / .seconds(1)))).test(.live) { client in
            let port = try #require(client.port)
            let idle = Self.idle
            // The client's steps run on a thread of their own, so that the rest of the
            // suite cannot delay them (and make the server's deadline look early).
            let (first, second, closedAfter) = try await onOwnThread {
                let socket = try RawSocket(port: port)
                let request = "GET /health/live HTTP/1.1\r\nHost: fleet\r\n\r\n"
                socket.send(request)
                let first = socket.readResponseHead(timeout: .seconds(10))
                // Half the idle timeout passes, then a request: its answer restarts the clock.
                Thread.sleep(forTimeInterval: Double((idle / 2) / .milliseconds(1)) / 1000)
                socket.send(request)
                let second = socket.readResponseHead(timeout: .seconds(10))
                let answered = ContinuousClock.now
                return (first, second, socket.waitForClose(timeout: .seconds(30)) ? ContinuousClock.now - answered : nil)
            }
            #expect(first.hasPrefix("HTTP/1.1 200"))
            #expect(second.hasPrefix("HTTP/1.1 200"), "the connection was closed before its idle timeout: \(second)")
            let open = try #require(closedAfter, "an idle connection was not closed")
            // Closed a whole idle timeout after the last answer: not by the clock started
            // at the connection (half a timeout after it), nor by the header deadline.
            #expect(open > idle * 0.75, "closed \(open) after the answer")
        }
    }

    /// Waits up to `limit` for a whole response head on `socket`.
    static func answer(on socket: RawSocket, within limit: Duration) async throws -> String {
        var answer = ""
        let deadline = ContinuousClock.now + limit
        while !answer.contains("\r\n\r\n"), ContinuousClock.now < deadline, let chunk = socket.receiveAvailable() {
            answer += chunk
            try await Task.sleep(for: .milliseconds(20))
        }
        return answer
    }

    /// With the real binary: Hummingbird's test server does not keep this setting.
    @Test func pastTheMostConnectionsNewOnesWaitForAFreeOne() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: FleetServer.binary.path), "build the fleet binary first")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-connections-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        // Readiness polling (one connection at a time) fits under the most.
        let server = try await FleetServer.start(dataDirectory: data, bcryptCost: 4, settings: ["--http-max-connections", "3"])
        defer { server.stop() }
        do {
            let port = server.port
            // Connections are opened and kept (keep-alive) until one is not served.
            var held: [RawSocket] = []
            var waiting: RawSocket?
            for _ in 0..<4 {
                let socket = try RawSocket(port: port)
                socket.send("GET /health/live HTTP/1.1\r\nHost: fleet\r\n\r\n")
                if try await Self.answer(on: socket, within: .seconds(6)).hasPrefix("HTTP/1.1 200") {
                    held.append(socket)
                } else {
                    waiting = socket
                    break
                }
            }
            let queued = try #require(waiting, "every connection was served past the most")
            try #require(held.count == 3, "only \(held.count) connections were served")
            // One closes: the waiting connection is accepted and served.
            held.removeFirst().close()
            let answer = try await Self.answer(on: queued, within: .seconds(10))
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
        }
    }
}
