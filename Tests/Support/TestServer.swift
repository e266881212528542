public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real server a test runs as a child process, to stop and freeze at will.
public protocol TestServer: AnyObject {
    /// The running process, nil when stopped.
    var process: Process? { get set }
}

extension TestServer {
    /// Stops the server (SIGKILL: a crash, not a polite shutdown) and waits for it to exit.
    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Freezes the server: connections stay open and nothing answers (a stalled server).
    public func pause() {
        if let process { kill(process.processIdentifier, SIGSTOP) }
    }

    public func resume() {
        if let process { kill(process.processIdentifier, SIGCONT) }
    }
}
