public import Foundation
import Synchronization

/// Starts child processes one at a time. Foundation's `Process.run()` on Linux was seen to
/// crash (a bad pointer read inside it) when tests started servers from several threads at
/// once; every test helper launches through here.
public enum ChildProcess {
    private static let launching = Mutex(())

    public static func run(_ process: Process) throws {
        try launching.withLock { _ in try process.run() }
    }
}
