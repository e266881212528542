public import Hummingbird
import Foundation
public import Logging

/// Turns every error into a response in the `APIError` shape, so that no client ever
/// sees an empty body or a stack trace.
///
/// Client errors from the framework (oversized body, bad JSON, unknown route) keep their
/// status; errors nobody anticipated become 500 with a generic message and are logged
/// with the request id, never echoed back to the client.
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Self.apiError(for: error, logger: context.logger).response(from: request, context: context)
        }
    }

    /// The client-facing form of an error.
    public static func apiError(for error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as any APIErrorConvertible:
            let apiError = error.apiError
            if apiError.status.code >= 500 { logger.error("request failed", metadata: ["error": "\(error)"]) }
            return apiError
        case let error as DecodingError:
            return APIError(.unprocessableContent, DecodingFailure(error).errors)
        case let error as HTTPError:
            let message = error.body ?? Self.defaultMessage(for: error.status)
            return APIError(error.status, field: "body", message, headers: error.headers)
        case let error as any HTTPResponseError where error.status.code < 500:
            return APIError(error.status, field: "body", Self.defaultMessage(for: error.status))
        case let error as any HTTPResponseError:
            logger.error("request failed", metadata: ["error": "\(error)"])
            return APIError(error.status, field: "server", Self.defaultMessage(for: error.status))
        default:
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return APIError(.internalServerError, field: "server", "internal error")
        }
    }

    static func defaultMessage(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "is malformed"
        case 404: "not found"
        case 405: "method not allowed"
        case 413: "is too large"
        case 415: "unsupported media type"
        default: status.reasonPhrase.lowercased()
        }
    }
}

/// A JSON decoding failure, described by the field it concerns.
struct DecodingFailure {
    let errors: [String: [String]]

    init(_ error: DecodingError) {
        switch error {
        case .typeMismatch(let type, let context):
            errors = [Self.field(context.codingPath): ["must be \(Self.describe(type))"]]
        case .valueNotFound(let type, let context):
            errors = [Self.field(context.codingPath): ["must be \(Self.describe(type))"]]
        case .keyNotFound(let key, let context):
            errors = [Self.field(context.codingPath + [key]): ["can't be blank"]]
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            errors = ["body": ["is not valid JSON"]]
        case .dataCorrupted(let context):
            errors = [Self.field(context.codingPath): ["is invalid"]]
        @unknown default:
            errors = ["body": ["is invalid"]]
        }
    }

    /// The innermost named key of the path (`user.email` → `email`), as Conduit clients expect.
    static func field(_ path: [any CodingKey]) -> String {
        path.last(where: { $0.intValue == nil })?.stringValue ?? "body"
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type, is String?.Type: "a string"
        case is Int.Type, is Int?.Type, is Int64.Type: "an integer"
        case is Bool.Type: "a boolean"
        case is [String].Type, is [String]?.Type: "a list of strings"
        default: "an object"
        }
    }
}

/// An error from another layer that knows how it should look to a client, such as a
/// database that is unavailable (503 with `Retry-After`).
public protocol APIErrorConvertible: Error {
    var apiError: APIError { get }
}
