public import HTTPTypes
public import Hummingbird
import NIOCore

/// When a request's head came off its connection, so that the application can tell how
/// long the request waited before it ran (in socket buffers, the event loop, the task
/// executor): the wait that a saturated process adds and that no in-process timer sees.
///
/// The server's channel (`HTTPPartWatcher`) stamps every request head with the monotonic
/// clock in a header of its own, replacing any the client sent, so a client cannot claim
/// a wait it did not have.
public enum RequestArrival {
    public static var headerName: HTTPField.Name { HTTPField.Name("Fleet-Received-Ns")! }

    /// Sets the stamp on a request head as it is read.
    static func stamp(_ head: inout HTTPRequest, now: NIODeadline = .now()) {
        head.headerFields[headerName] = String(now.uptimeNanoseconds)
    }

    /// How long ago the request's head was read; nil when it carries no stamp (a request
    /// made in process, as tests do).
    public static func waited(_ request: Request, now: NIODeadline = .now()) -> Duration? {
        guard let value = request.headers[headerName], let received = UInt64(value) else { return nil }
        let nanoseconds = now.uptimeNanoseconds >= received ? now.uptimeNanoseconds - received : 0
        return .nanoseconds(Int64(clamping: nanoseconds))
    }
}
