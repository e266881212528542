#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection with nothing on top, for tests that must behave as no HTTP client
/// would: trickle a request a byte at a time, open connections and leave them idle.
public final class RawSocket: @unchecked Sendable {
    private var descriptor: Int32

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw RawSocketError(description: "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            Glibc.close(descriptor)
            throw RawSocketError(description: "connect() failed")
        }
    }

    deinit { close() }

    /// The file descriptor, for `poll` (the blocking steps).
    var descriptorForPolling: Int32 { descriptor }

    /// Closes the connection (once).
    public func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Sends bytes; false once the server has closed the connection.
    @discardableResult
    public func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// What has arrived so far, without waiting; nil once the server has closed the
    /// connection and nothing is left to read.
    public func receiveAvailable() -> String? {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count > 0 { return String(decoding: buffer.prefix(count), as: UTF8.self) }
        if count == 0 { return nil }
        return errno == EAGAIN || errno == EWOULDBLOCK ? "" : nil
    }

    /// Whether the server has closed the connection (reading what arrived meanwhile).
    public var isClosedByServer: Bool {
        while let chunk = receiveAvailable() {
            if chunk.isEmpty { return false }
        }
        return true
    }
}

public struct RawSocketError: Error, CustomStringConvertible {
    public let description: String
}
