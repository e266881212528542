public import Hummingbird
public import HTTPTypes

/// CORS for an API that browsers call from any origin without credentials (tokens travel
/// in `Authorization`, never in cookies): `Access-Control-Allow-Origin: *` on every
/// response to a request with an `Origin`, errors included, and the response headers a
/// front end needs to read (`Retry-After`, the rate-limit state) exposed on the response
/// itself, which is where browsers look for them. Preflights are answered here.
///
/// Hummingbird's `CORSMiddleware` sends `Access-Control-Expose-Headers` on preflights
/// only, so a browser never lets a front end read those headers; hence this one.
public struct CrossOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowHeaders: String
    let allowMethods: String
    let exposeHeaders: String
    let maxAge: String

    public init(allowHeaders: [HTTPField.Name], allowMethods: [HTTPRequest.Method], exposeHeaders: [HTTPField.Name], maxAge: Duration) {
        self.allowHeaders = allowHeaders.map(\.rawName).joined(separator: ", ")
        self.allowMethods = allowMethods.map(\.rawValue).joined(separator: ", ")
        self.exposeHeaders = exposeHeaders.map(\.rawName).joined(separator: ", ")
        self.maxAge = String(maxAge.components.seconds)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers.contains(.origin) else { return try await next(request, context) }
        if request.method == .options, request.headers.contains(.accessControlRequestMethod) {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: "*", .accessControlAllowMethods: allowMethods, .accessControlAllowHeaders: allowHeaders,
                    .accessControlMaxAge: maxAge,
                ]
            )
        }
        do {
            var response = try await next(request, context)
            addHeaders(to: &response.headers)
            return response
        } catch {
            // Errors are responses by the time they get here (error rendering sits further
            // in); one that is not yet keeps the headers for whoever renders it.
            var headers = HTTPFields()
            addHeaders(to: &headers)
            throw HeaderedError(error, headers: headers)
        }
    }

    private func addHeaders(to headers: inout HTTPFields) {
        headers[.accessControlAllowOrigin] = "*"
        headers[.accessControlExposeHeaders] = exposeHeaders
    }
}
