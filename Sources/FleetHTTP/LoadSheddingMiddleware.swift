public import FleetResilience
public import HTTPTypes
public import Hummingbird

/// Admits requests through an adaptive concurrency limit (`AdaptiveLimiter`) and refuses
/// the rest at once with `OverloadedError` (503, `Retry-After`), instead of letting them
/// queue until every request is slow. Added to the API routes only: health, metrics and
/// admin are never shed.
///
/// Writes and signed-in readers are `.high` priority; anonymous reads are `.low` and may
/// use only the limiter's low share of the slots, so that under overload they are shed
/// first. The limiter also learns how long each request waited before it got here
/// (`RequestArrival`), and refuses one that waited too long in a standing queue.
/// A request is judged signed-in by the presence of an `Authorization` header: a
/// forged one buys a place in the queue but is refused with 401 as soon as it is read,
/// which costs one signature check.
///
/// A request that the layers below answer with 503 (a dependency down) counts as dropped
/// and lowers the limit; one cancelled by its client only frees its slot.
public struct LoadSheddingMiddleware<Context: RequestContext>: RouterMiddleware {
    let limiter: AdaptiveLimiter
    let isDependencyFailure: @Sendable (any Error) -> Bool

    public init(limiter: AdaptiveLimiter, isDependencyFailure: @escaping @Sendable (any Error) -> Bool) {
        self.limiter = limiter
        self.isDependencyFailure = isDependencyFailure
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let priority = Self.priority(of: request)
        guard let ticket = limiter.tryAcquire(priority, waited: RequestArrival.waited(request)) else { throw OverloadedError(retryAfterSeconds: 1) }
        do {
            let response = try await next(request, context)
            limiter.release(ticket, response.status == .serviceUnavailable ? .dropped : .success)
            return response
        } catch {
            if error is CancellationError || Task.isCancelled {
                limiter.release(ticket, .ignored)
            } else {
                limiter.release(ticket, isDependencyFailure(error) ? .dropped : .success)
            }
            throw error
        }
    }

    static func priority(of request: Request) -> AdaptiveLimiter.Priority {
        if request.method != .get && request.method != .head { return .high }
        return request.headers[.authorization] == nil ? .low : .high
    }
}

/// A request refused because the instance is at its concurrency limit: answer 503 with
/// `Retry-After` and do no work for it.
public struct OverloadedError: Error, Sendable {
    public let retryAfterSeconds: Int

    public init(retryAfterSeconds: Int) {
        self.retryAfterSeconds = retryAfterSeconds
    }
}
