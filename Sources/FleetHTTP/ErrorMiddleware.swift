public import Hummingbird
public import Logging

/// Turns an error into the response a client gets. The application supplies one (its
/// error shape and wording, its mapping of each layer's errors to a status); FleetHTTP
/// only makes sure every error reaches it.
public protocol ErrorResponder: Sendable {
    /// The response for `error`; it never throws, so no error escapes without a body.
    func response(to error: any Error, request: Request, logger: Logger) -> Response
}

/// Renders every error thrown further in through an `ErrorResponder`, so that no client
/// ever sees an empty body or a stack trace.
///
/// Middleware may wrap an error to add headers on its way out (rate-limit state, CORS):
/// such wrappers are taken apart, the error inside is rendered, and their headers are
/// added to the response. Put this inside CORS and the other header-adding middleware,
/// so that what they see is a response; it still recognises what they wrapped if one
/// sits further in.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let responder: any ErrorResponder

    public init(_ responder: any ErrorResponder) {
        self.responder = responder
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let (underlying, headers) = HeaderedError.unwrap(error)
            var response = responder.response(to: underlying, request: request, logger: context.logger)
            for field in headers where !response.headers.contains(field.name) {
                response.headers.append(field)
            }
            return response
        }
    }
}

/// An error with headers that its response must carry (a refused request's
/// `Retry-After`, the rate-limit state of a request that failed further in).
public struct HeaderedError: Error, Sendable {
    public let underlying: any Error
    public let headers: HTTPFields

    public init(_ underlying: any Error, headers: HTTPFields) {
        self.underlying = underlying
        self.headers = headers
    }

    /// The innermost error and the headers of every wrapper around it: `HeaderedError`,
    /// and the errors other middleware wrap the same way (Hummingbird's CORS middleware
    /// wraps what passes through it in a type it does not export, with the fields
    /// `originalError` and `additionalHeaders`; a test pins that shape).
    public static func unwrap(_ error: any Error) -> (error: any Error, headers: HTTPFields) {
        var error = error
        var headers = HTTPFields()
        while true {
            if let wrapped = error as? HeaderedError {
                headers.append(contentsOf: wrapped.headers)
                error = wrapped.underlying
                continue
            }
            let mirror = Mirror(reflecting: error)
            if let original = mirror.descendant("originalError") as? any Error,
                let additional = mirror.descendant("additionalHeaders") as? HTTPFields
            {
                headers.append(contentsOf: additional)
                error = original
                continue
            }
            return (error, headers)
        }
    }
}
