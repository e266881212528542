import FleetSupport
import Foundation
import NIOCore
import NIOExtras
import NIOPosix
import Tracing

/// Fleet's small SMTP client: one session per message (EHLO, AUTH PLAIN when configured,
/// MAIL, RCPT, DATA with dot-stuffing, QUIT), bounded as a whole by the configuration's
/// timeout. Replies in the 4xx range throw `temporary` (retry later), 5xx `permanent`.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration

    public init(_ configuration: SMTPConfiguration) {
        self.configuration = configuration
    }

    /// Sends `message`; returns once the server has accepted it (250 after DATA).
    public func send(_ message: MailMessage) async throws {
        _ = try message.encoded(eightBit: false)  // refused before connecting
        let configuration = configuration
        // A client span per session (the recipients are not recorded: they are personal data).
        try await withSpan("smtp send", ofKind: .client) { span in
            if span.isRecording {
                span.updateAttributes { attributes in
                    attributes["server.address"] = configuration.host
                    attributes["server.port"] = configuration.port
                }
            }
            try await withDeadline(configuration.timeout, orThrow: { SMTPError(.timeout, "the session took longer than \(configuration.timeout)") }) {
                try await Self.session(configuration, message: message)
            }
        }
    }

    private static func session(_ configuration: SMTPConfiguration, message: MailMessage) async throws {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(configuration.timeout.inNanoseconds))
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineBasedFrameDecoder()))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw SMTPError(.connect, "cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(lines: inbound.makeAsyncIterator(), outbound: outbound)
            try await session.expect(220, after: nil)
            let features = try await session.command("EHLO \(configuration.helloName)", expect: 250)
            if let username = configuration.username {
                guard features.contains(where: { $0.uppercased().hasPrefix("AUTH") && $0.uppercased().contains("PLAIN") }) else {
                    throw SMTPError(.permanent, "the server offers no AUTH PLAIN")
                }
                let credentials = Data(([0] + Array(username.utf8) + [0] + Array((configuration.password ?? "").utf8))).base64EncodedString()
                try await session.command("AUTH PLAIN \(credentials)", expect: 235, shown: "AUTH PLAIN ***")
            }
            let eightBit = features.contains { $0.uppercased() == "8BITMIME" }
            try await session.command("MAIL FROM:<\(message.from)>\(eightBit ? " BODY=8BITMIME" : "")", expect: 250)
            try await session.command("RCPT TO:<\(message.to)>", expect: 250, 251)
            try await session.command("DATA", expect: 354)
            try await session.command(try message.encoded(eightBit: eightBit) + "\r\n.", expect: 250, shown: "(message)")
            // The message is accepted; how the server says goodbye changes nothing.
            _ = try? await session.command("QUIT", expect: 221)
        }
    }
}

/// One SMTP conversation: commands out, (multi-line) replies in.
private struct SMTPSession {
    var lines: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// Sends `line` and reads the reply; returns its text lines when its code is expected.
    @discardableResult
    mutating func command(_ line: String, expect codes: Int..., shown: String? = nil) async throws -> [String] {
        try await outbound.write(ByteBuffer(string: line + "\r\n"))
        return try await expect(codes, after: shown ?? line)
    }

    mutating func expect(_ code: Int, after command: String?) async throws {
        try await expect([code], after: command)
    }

    /// Reads one reply (`250-…` lines up to `250 …`) and checks its code.
    @discardableResult
    mutating func expect(_ codes: [Int], after command: String?) async throws -> [String] {
        var texts: [String] = []
        while true {
            guard let buffer = try await lines.next() else { throw SMTPError(.protocolError, "the server closed the connection") }
            let line = String(buffer: buffer)
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)) else {
                throw SMTPError(.protocolError, "not an SMTP reply: \(line.prefix(100))")
            }
            texts.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            if bytes.count > 3, bytes[3] == UInt8(ascii: "-") { continue }
            guard codes.contains(code) else {
                let what = "\(command.map { "\($0) → " } ?? "")\(line.prefix(200))"
                throw SMTPError(code >= 500 ? .permanent : code >= 400 ? .temporary : .protocolError, what)
            }
            return texts
        }
    }
}
