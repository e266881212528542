import FleetData
import FleetHTTP
import HTTPTypes
import Hummingbird

/// Gives each request a `SessionConsistency` that starts at its client's last write
/// position (looked up only if a read goes to the database), and keeps the new position
/// when the request wrote: with replicas, a client always reads what it wrote, through
/// any instance, without sticky sessions.
///
/// The client is the signed-in user and the client address (resolved once per request by
/// `ClientAddressMiddleware`), so a client that writes with its token and then reads
/// without it still reads its own writes; clients behind one address share a position,
/// which only sends a few more of their reads to the primary.
struct ReadYourWritesMiddleware: RouterMiddleware {
    typealias Context = ConduitContext
    let positions: any WritePositions

    func handle(_ request: Request, context: ConduitContext, next: (Request, ConduitContext) async throws -> Response) async throws -> Response {
        let clients = [context.clientKey] + (context.viewer.map { ["user:\($0.rawValue)"] } ?? [])
        let positions = self.positions
        let session = SessionConsistency { node in await positions.position(for: clients, node: node) }
        do {
            let response = try await SessionConsistency.$current.withValue(session) { try await next(request, context) }
            await keep(session, for: clients)
            return response
        } catch {
            // A request can commit and still fail afterwards; what it committed counts.
            await keep(session, for: clients)
            throw error
        }
    }

    private func keep(_ session: SessionConsistency, for clients: [String]) async {
        // `.max` means "position unknown, read the primary": for this request only.
        let written = session.written.filter { $0.value.rawValue != .max }
        if !written.isEmpty { await positions.record(written, for: clients) }
    }
}
