import FleetHTTP
import FleetResilience
import FleetSupport
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct LoadSheddingTests {
    /// `/api/*` behind a limiter of two slots, one of them for anonymous reads; `/health`
    /// outside it.
    func makeApp(release: Gate, started: Gate) -> some ApplicationProtocol {
        var policy = AdaptiveLimitPolicy()
        policy.initialLimit = 2
        policy.minimumLimit = 1
        policy.maximumLimit = 2
        let router = Router()
        router.add(middleware: ErrorMiddleware(PlainErrorResponder()))
        router.get("health") { _, _ in "ok" }
        let api = router.group("api")
            .add(middleware: LoadSheddingMiddleware(limiter: AdaptiveLimiter(name: "test", policy: policy, lowShare: 0.5), isDependencyFailure: { _ in false }))
        api.get("slow") { _, _ -> String in
            started.arrive()
            await release.wait()
            return "slow"
        }
        api.get("fast") { _, _ in "fast" }
        api.post("fast") { _, _ in "written" }
        return Application(router: router)
    }

    @Test func shedsAnonymousReadsFirstAndNeverHealth() async throws {
        let release = Gate(arrivals: 1)
        let started = Gate(arrivals: 1)
        try await makeApp(release: release, started: started).test(.router) { client in
            async let slow = client.execute(uri: "/api/slow", method: .get)
            await started.wait()
            // The one slot for anonymous reads is taken: refused at once, with Retry-After.
            let shed = try await client.execute(uri: "/api/fast", method: .get)
            #expect(shed.status == .serviceUnavailable)
            #expect(body(shed) == #"{"error":"overloaded"}"#)
            // A signed-in reader and a write still get the slot kept for them...
            let signedIn = try await client.execute(uri: "/api/fast", method: .get, headers: [.authorization: "Token x"])
            #expect(signedIn.status == .ok)
            let write = try await client.execute(uri: "/api/fast", method: .post)
            #expect(write.status == .ok)
            // ...and health is never shed.
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            release.arrive()
            #expect(try await slow.status == .ok)
            #expect(try await client.execute(uri: "/api/fast", method: .get).status == .ok)
        }
    }

    @Test func theServerStampsEachRequestsArrivalAndAClientCannotForgeIt() async throws {
        let router = Router()
        router.get("waited") { request, _ -> String in
            RequestArrival.waited(request).map { "\($0.components.seconds) s" } ?? "no stamp"
        }
        let app = Application(router: router, server: .http1(timeouts: ConnectionTimeouts(idle: .seconds(60), header: .seconds(10), body: .seconds(30))))
        try await app.test(.live) { client in
            // A client claiming to have waited since the machine booted is not believed.
            let response = try await client.execute(uri: "/waited", method: .get, headers: [RequestArrival.headerName: "0"])
            #expect(body(response) == "0 s")
        }
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/waited", method: .get)
            #expect(body(response) == "no stamp")
        }
    }

    @Test func aStandingQueueShedsWhatWaitedPastItsTargetAndAdmitsWhatDidNot() async throws {
        var policy = AdaptiveLimitPolicy()
        policy.initialLimit = 100
        // Long times, far from each other, and one request an interval: on a busy machine
        // this test sends few requests, and each takes a while to reach the middleware
        // after its stamp (which then counts as waiting).
        let queue = QueueDelayState.Policy(target: .milliseconds(200), interval: .seconds(1), minimumRequests: 1)
        let router = Router()
        router.add(middleware: ErrorMiddleware(PlainErrorResponder()))
        router.group("api")
            .add(middleware: LoadSheddingMiddleware(limiter: AdaptiveLimiter(name: "test", policy: policy, queue: queue), isDependencyFailure: { _ in false }))
            .get("fast") { _, _ in "fast" }
        /// A stamp as if the request had been read `ago` (the channel sets it in production).
        @Sendable func arrived(_ ago: Duration, signedIn: Bool = false) -> HTTPFields {
            let nanoseconds = UInt64(ago.components.seconds) * 1_000_000_000 + UInt64(ago.components.attoseconds / 1_000_000_000)
            let now = NIODeadline.now().uptimeNanoseconds
            var fields: HTTPFields = [RequestArrival.headerName: String(now > nanoseconds ? now - nanoseconds : 0)]
            if signedIn { fields[.authorization] = "Token x" }
            return fields
        }
        try await Application(router: router).test(.router) { client in
            // Every request waited 5 s: once an interval of them has gone by, the queue
            // stands and such a request is refused.
            var refused = false
            let deadline = ContinuousClock.now + .seconds(20)
            while !refused, ContinuousClock.now < deadline {
                refused = try await client.execute(uri: "/api/fast", method: .get, headers: arrived(.seconds(5))).status == .serviceUnavailable
            }
            #expect(refused)
            // While it stands, a signed-in reader may wait twice the target, not more, and
            // one that did not wait is served (last: it ends the standing queue).
            #expect(try await client.execute(uri: "/api/fast", method: .get, headers: arrived(.seconds(5), signedIn: true)).status == .serviceUnavailable)
            #expect(try await client.execute(uri: "/api/fast", method: .get, headers: arrived(.milliseconds(250), signedIn: true)).status == .ok)
            #expect(try await client.execute(uri: "/api/fast", method: .get, headers: arrived(.zero)).status == .ok)
        }
    }
}
