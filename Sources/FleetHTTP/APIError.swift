public import Hummingbird

/// An error a client caused, rendered as `{"errors": {"<field>": ["<message>", ...]}}`.
///
/// The shape lets a client show each message next to the input it concerns; errors that
/// concern no single field use a general key such as `body`.
public struct APIError: Error, HTTPResponseError, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var errors: [String: [String]]
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ errors: [String: [String]], headers: HTTPFields = [:]) {
        self.status = status
        self.errors = errors
        self.headers = headers
    }

    /// One message about one field.
    public init(_ status: HTTPResponse.Status, field: String, _ message: String, headers: HTTPFields = [:]) {
        self.init(status, [field: [message]], headers: headers)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
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

    public static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.status == rhs.status && lhs.errors == rhs.errors
    }
}
