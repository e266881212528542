public import Hummingbird
import Foundation

extension Request {
    /// Decodes a JSON body, leaving `DecodingError`s intact so that the error responder can
    /// name the offending field (Hummingbird's own `decode` flattens them into a 400). An
    /// empty body is `RequestBodyError.empty`.
    public func decodeJSON<T: Decodable>(as type: T.Type, context: some RequestContext) async throws -> T {
        let buffer = try await self.body.collect(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else { throw RequestBodyError.empty }
        return try JSONDecoder().decode(T.self, from: buffer)
    }
}
