/// How long a client may take, at each point of an HTTP/1.1 connection, before the
/// server closes it: a connection that trickles a request (slowloris) or sits idle holds
/// memory and a file descriptor that other clients need.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// Between requests: from the end of a response (or the connection's start) to the
    /// first byte of the next request.
    public var idle: Duration
    /// From a request's first byte to the end of its headers.
    public var header: Duration
    /// From the end of a request's headers to the end of its body.
    public var body: Duration

    public init(idle: Duration, header: Duration, body: Duration) {
        self.idle = idle
        self.header = header
        self.body = body
    }
}

/// The deadlines of one connection as its requests come and go: a pure state machine.
/// The channel handlers (`ConnectionDeadlineTracker`) feed it what they see and ask it
/// when the connection must be closed.
///
/// The client is only ever timed while it owes the server something: the rest of a
/// request's body (even while the handler waits for it), or, while nothing is being
/// answered, the rest of a request's headers or its next request. A slow response is the
/// server's problem, not the client's, and no idle or header deadline runs during one.
///
/// Known limit: when one read brings both the end of a request and the start of the next
/// (pipelining), the next one's headers are timed as idle, not as headers.
public struct ConnectionDeadlines<Instant: InstantProtocol>: Sendable where Instant.Duration == Swift.Duration {
    public enum Phase: Sendable, Equatable {
        /// No request in progress on the reading side.
        case idle
        /// Bytes of a request have arrived, its headers not all of them.
        case header
        /// Headers read, the body not finished.
        case body
    }

    public let timeouts: ConnectionTimeouts
    public private(set) var phase: Phase = .idle
    /// When the current phase began.
    private var since: Instant
    /// Requests whose headers arrived and whose response has not been sent in full.
    public private(set) var responsesOwed = 0

    public init(timeouts: ConnectionTimeouts, now: Instant) {
        self.timeouts = timeouts
        self.since = now
    }

    /// Bytes arrived from the client.
    public mutating func bytesReceived(at now: Instant) {
        if phase == .idle { enter(.header, at: now) }
    }

    /// A request's headers were parsed.
    public mutating func headReceived(at now: Instant) {
        responsesOwed += 1
        enter(.body, at: now)
    }

    /// A request's body ended.
    public mutating func endReceived(at now: Instant) {
        enter(.idle, at: now)
    }

    /// A response was sent in full. Once nothing more is owed, the client's clock starts
    /// again from now, whatever it was doing meanwhile.
    public mutating func responseSent(at now: Instant) {
        responsesOwed = max(0, responsesOwed - 1)
        if responsesOwed == 0 { since = now }
    }

    /// When the connection must be closed unless something changes; nil while no deadline runs.
    public var deadline: Instant? {
        switch phase {
        case .body: since.advanced(by: timeouts.body)
        case .idle where responsesOwed == 0: since.advanced(by: timeouts.idle)
        case .header where responsesOwed == 0: since.advanced(by: timeouts.header)
        case .idle, .header: nil
        }
    }

    /// The phase the client overran at `now`, if it did.
    public func expired(at now: Instant) -> Phase? {
        guard let deadline, now >= deadline else { return nil }
        return phase
    }

    private mutating func enter(_ phase: Phase, at now: Instant) {
        self.phase = phase
        self.since = now
    }
}
