import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Blocking steps, for a client script run on a thread of its own (`onOwnThread`): a
/// test that times the server must not be timed by how soon Swift's cooperative threads,
/// busy with the rest of the suite, let its task run again.
extension RawSocket {
    /// Reads until a whole response head has arrived, the server closes, or `timeout`;
    /// returns it from its status line (the rest of an earlier response dropped).
    public func readResponseHead(timeout: Duration) -> String {
        var text = ""
        let deadline = ContinuousClock.now + timeout
        func head() -> Substring? {
            guard let start = text.range(of: "HTTP/1.1 ")?.lowerBound else { return nil }
            return text[start...].contains("\r\n\r\n") ? text[start...] : nil
        }
        while head() == nil, waitForInput(until: deadline), let chunk = receiveAvailable(), !chunk.isEmpty {
            text += chunk
        }
        return head().map(String.init) ?? text
    }

    /// Waits until the server closes the connection (reading what arrives meanwhile);
    /// false if it is still open after `timeout`.
    public func waitForClose(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while waitForInput(until: deadline) {
            if receiveAvailable() == nil { return true }
        }
        return false
    }

    /// Blocks until bytes (or the end of the stream) can be read; false at `deadline`.
    private func waitForInput(until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return false }
            var descriptor = pollfd(fd: self.descriptorForPolling, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(min(left / .milliseconds(1), 1_000).rounded(.up))
            let ready = poll(&descriptor, 1, max(1, milliseconds))
            if ready > 0 { return true }
            if ready < 0, errno != EINTR { return true }  // let the read report the error
        }
    }
}

/// Runs `work` on a new thread and waits for its result without holding a cooperative one.
public func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}
