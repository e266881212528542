import FleetSupport
import Foundation

/// A status line on standard error once a second while a run goes on: elapsed time,
/// the rate and errors of the last second, requests in flight and the last second's p99.
/// On a terminal it redraws in place; elsewhere (CI logs) it prints a plain line every
/// `plainEvery` seconds instead.
public struct ProgressLine: Sendable {
    public let interactive: Bool
    public let plainEvery: Int

    /// `interactive` nil: whether standard error is a terminal.
    public init(interactive: Bool? = nil, plainEvery: Int = 5) {
        self.interactive = interactive ?? (isatty(STDERR_FILENO) != 0)
        self.plainEvery = max(1, plainEvery)
    }

    /// Prints until the task is cancelled, then ends the line.
    public func run(recorder: LoadRecorder, length: Duration) async {
        var tick = 0
        var errors = 0
        while true {
            do { try await Task.sleep(until: recorder.start + .seconds(tick + 1), clock: .continuous) } catch { break }
            tick += 1
            let window = recorder.takeLiveWindow()
            errors += window.errors
            guard interactive || tick % plainEvery == 0 else { continue }
            let text = Self.format(
                elapsed: .now - recorder.start, length: length, warmup: recorder.warmup, window: window, inFlight: recorder.inFlight, errors: errors
            )
            FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + text : text + "\n").utf8))
        }
        if interactive, tick > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// The line itself: `12s/30s  199 req/s  in flight 3  errors 0 (+0)  p99 12.3 ms`.
    public static func format(elapsed: Duration, length: Duration, warmup: Duration, window: LiveWindow, inFlight: Int, errors: Int) -> String {
        let phase = elapsed < warmup ? " warm-up" : ""
        let p99 = window.p99.map { String(format: "%.1f ms", $0) } ?? "-"
        return "\(Int(elapsed.inSeconds))s/\(Int(length.inSeconds))s\(phase)  \(window.requests) req/s  in flight \(inFlight)  errors \(errors) (+\(window.errors))  p99 \(p99)"
    }
}
