public import Hummingbird
public import HTTPTypes
import Logging

/// Gives every request an id, honouring a well-formed `X-Request-ID` from the client or
/// a proxy so that one id follows a request across the fleet. The id replaces the one
/// Hummingbird put on the request's logger (`hb.request.id`), so every log line of the
/// request carries it, and it is returned in the response header.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    public static var headerName: HTTPField.Name { HTTPField.Name("X-Request-ID")! }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id: String
        if let supplied = request.headers[Self.headerName].flatMap(Self.accept) {
            id = supplied
            context.logger[metadataKey: "hb.request.id"] = .string(id)
        } else {
            id = context.id
        }
        var response = try await next(request, context)
        response.headers[Self.headerName] = id
        return response
    }

    /// A client-supplied id is used only if it is short and made of safe characters,
    /// so it cannot forge log lines or bloat them.
    static func accept(_ candidate: String) -> String? {
        guard (1...128).contains(candidate.utf8.count),
            candidate.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
            })
        else { return nil }
        return candidate
    }
}
