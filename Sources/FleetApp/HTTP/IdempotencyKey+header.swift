public import HTTPTypes
import Hummingbird

extension IdempotencyKey {
    /// The request header a client names its create with (browsers may send it: CORS
    /// allows it).
    public static var headerName: HTTPField.Name { HTTPField.Name("Idempotency-Key")! }

    /// The key a request was sent with, if any; 422 if malformed. Several fields of the
    /// header are one malformed key (joined with commas, which a key cannot contain).
    static func of(_ request: Request) throws(ConduitError) -> IdempotencyKey? {
        let values = request.headers[values: headerName]
        return try parse(values.isEmpty ? nil : values.joined(separator: ","))
    }
}
