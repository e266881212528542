import FleetData
public import FleetHTTP
import FleetResilience
import Foundation
public import Hummingbird
public import Logging

/// How every error looks to a client, in one place: the domain's `ConduitError`s and the
/// errors of every layer below it, each with its status, headers and a body in the
/// Conduit shape, `{"errors": {"<field>": ["<message>", ...]}}`.
///
/// Whatever nobody anticipated is a 500 with a generic message, logged with the request
/// id and never described to the client.
public struct ConduitErrorResponder: ErrorResponder {
    public init() {}

    public func response(to error: any Error, request: Request, logger: Logger) -> Response {
        let (status, errors, headers) = Self.describe(error, logger: logger)
        return Self.render(status, errors, headers: headers)
    }

    static let retryShortly = "temporarily unavailable, retry shortly"

    /// Status, messages per field and headers for an error.
    static func describe(_ error: any Error, logger: Logger) -> (HTTPResponse.Status, [String: [String]], HTTPFields) {
        switch error {
        case let error as ConduitError:
            switch error.code {
            case .invalid: return (.unprocessableContent, error.errors, [:])
            case .unauthenticated: return (.unauthorized, error.errors, [.wwwAuthenticate: "Token"])
            case .forbidden: return (.forbidden, error.errors, [:])
            case .notFound: return (.notFound, error.errors, [:])
            case .conflict: return (.conflict, error.errors, [:])
            default: return (.badRequest, error.errors, [:])
            }
        case let error as DatabaseError where error.isUnavailable:
            logger.warning("database unavailable", metadata: ["error": "\(error)"])
            return (.serviceUnavailable, ["server": [retryShortly]], [.retryAfter: "1"])
        case let error as DatabaseError where error.code == .uniqueViolation:
            return (.conflict, ["body": ["conflicts with existing data"]], [:])
        case let error as DatabaseError where error.code == .aborted:
            logger.warning("transaction aborted by the database", metadata: ["error": "\(error)"])
            return (.serviceUnavailable, ["server": [retryShortly]], [.retryAfter: "1"])
        case let error as OverloadedError:
            return (.serviceUnavailable, ["server": ["overloaded, retry shortly"]], [.retryAfter: String(error.retryAfterSeconds)])
        case let error as CircuitBreakerError:
            logger.warning("refused: a dependency's circuit breaker is open", metadata: ["error": "\(error)"])
            return (.serviceUnavailable, ["server": [retryShortly]], [.retryAfter: "1"])
        case let error as BulkheadError:
            logger.warning("refused: a work queue is full", metadata: ["error": "\(error)"])
            return (.serviceUnavailable, ["server": ["busy, retry shortly"]], [.retryAfter: "1"])
        case let error as RateLimitedError:
            return (.tooManyRequests, ["body": ["too many requests: retry in \(error.retryAfterSeconds) s"]], error.headers)
        case let error as RequestBodyError where error.code == .tooLarge:
            return (.contentTooLarge, ["body": ["is too large (maximum is \(error.limit ?? 0) bytes)"]], [:])
        case is RequestBodyError:
            return (.unprocessableContent, ["body": ["can't be blank"]], [:])
        case let error as DecodingError:
            return (.unprocessableContent, DecodingFailure(error).errors, [:])
        case let error as HTTPError where error.status.code < 500:
            return (error.status, ["body": [error.body ?? defaultMessage(for: error.status)]], error.headers)
        case let error as any HTTPResponseError where error.status.code < 500:
            return (error.status, ["body": [defaultMessage(for: error.status)]], [:])
        case let error as HTTPError:
            logger.error("request failed", metadata: ["error": "\(error)"])
            return (error.status, ["server": [defaultMessage(for: error.status)]], error.headers)
        case is CancellationError:
            // The request was given up (its client went away, the server is stopping).
            logger.debug("request cancelled")
            return (.serviceUnavailable, ["server": [retryShortly]], [.retryAfter: "1"])
        default:
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return (.internalServerError, ["server": ["internal error"]], [:])
        }
    }

    /// The Conduit error body.
    static func render(_ status: HTTPResponse.Status, _ errors: [String: [String]], headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        var json = JSONWriter(capacity: 128)
        json.object { json in
            json.key("errors")
            json.object { json in
                for (field, messages) in errors.sorted(by: { $0.key < $1.key }) {
                    json.key(field)
                    json.array(messages) { json, message in json.value(message) }
                }
            }
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: json.buffer))
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

/// A JSON decoding failure, described by the field it concerns, in Conduit's wording.
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
