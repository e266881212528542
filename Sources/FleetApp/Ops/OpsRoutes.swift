import FleetData
import FleetJobs
import FleetSupport
import Foundation
import HTTPTypes
import Hummingbird

/// The ops page on the admin listener:
///
/// - `GET /ops`: one self-contained HTML page (inline CSS and script, nothing fetched
///   from elsewhere) that polls `/ops/data` every 2 s.
/// - `GET /ops/data`: `OpsData` as JSON.
/// - `POST /ops/jobs/:id/retry` and `POST /ops/jobs/:id/discard` (`id` is `SHARD:ID`):
///   a dead job run again or deleted, with the `X-Ops-Token` header equal to
///   `ops.admin.token`; 403 when it is unset or the header is missing or wrong. A custom
///   header cannot be sent cross-origin without a preflight the listener never grants,
///   so another site open in the operator's browser cannot forge the action either.
struct OpsRoutes: Sendable {
    static let tokenHeader = HTTPField.Name("X-Ops-Token")!
    let board: OpsBoard
    let token: OpsToken

    init(board: OpsBoard) {
        self.board = board
        self.token = OpsToken(board.settings.opsAdminToken)
    }

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/ops") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [
                    .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                    // The page needs nothing from anywhere else, and says so.
                    .contentSecurityPolicy: "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'",
                ],
                body: .init(byteBuffer: ByteBuffer(string: OpsPage.html))
            )
        }
        router.get("/ops/data") { _, _ -> Response in
            let data = await board.data()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return Response(
                status: .ok,
                headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(data)))
            )
        }
        router.post("/ops/jobs/:id/retry") { request, context -> HTTPResponse.Status in
            let (id, node) = try authorize(request, context)
            try await act(id) { try await JobStore().retry(id.job, now: WallClock.microseconds(), in: node) }
            board.logger.notice("ops page: dead job retried", metadata: ["job": "\(id)"])
            return .noContent
        }
        router.post("/ops/jobs/:id/discard") { request, context -> HTTPResponse.Status in
            let (id, node) = try authorize(request, context)
            try await act(id) { try await JobStore().discard(id.job, in: node) }
            board.logger.notice("ops page: dead job discarded", metadata: ["job": "\(id)"])
            return .noContent
        }
    }

    /// The job the request names, once its token is checked.
    private func authorize(_ request: Request, _ context: some RequestContext) throws -> (OpsJobID, InstrumentedDatabase) {
        guard token.isEnabled else { throw ConduitError(.forbidden, field: "body", "ops actions are off: set ops.admin.token") }
        guard token.accepts(request.headers[Self.tokenHeader]) else {
            throw ConduitError(.forbidden, field: "body", "the ops token (X-Ops-Token) is missing or wrong")
        }
        let text = try context.parameters.require("id")
        guard let id = OpsJobID(text, shards: board.shards.nodes.count) else {
            throw ConduitError(.invalid, field: "id", "must be SHARD:ID, a shard of this fleet and a job id")
        }
        return (id, board.shards.nodes[id.shard])
    }

    private func act(_ id: OpsJobID, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as JobError where error.code == .notFound {
            throw ConduitError.notFound("job")
        }
    }
}
