public import Hummingbird

/// Refuses request bodies over a size limit with `RequestBodyError.tooLarge`, before any
/// handler reads them.
///
/// A declared `Content-Length` over the limit is refused without reading a byte; a
/// chunked body is read up to the limit and refused as soon as it passes it.
public struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    public let maxBytes: Int

    public init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBytes {
            throw RequestBodyError.tooLarge(limit: maxBytes)
        }
        var request = request
        if request.method == .post || request.method == .put || request.method == .patch {
            do {
                _ = try await request.collectBody(upTo: maxBytes)
            } catch let error as HTTPError where error.status == .contentTooLarge {
                throw RequestBodyError.tooLarge(limit: maxBytes)
            }
        }
        return try await next(request, context)
    }
}
