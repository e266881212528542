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
            // A client claiming to have waited since the machine booted (hours) is not
            // believed: the wait is this request's own (seconds at most, on a busy machine).
            let response = try await client.execute(uri: "/waited", method: .get, headers: [RequestArrival.headerName: "0"])
            let seconds = try #require(Int(body(response).dropLast(2)))
            #expect(seconds < 60)
        }
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/waited", method: .get)
            #expect(body(response) == "no stamp")
        }
    }

    /// The middleware's wiring: it hands the limiter each request's wait, and a refusal
    /// is a 503. (How long a request may wait, by priority, is `QueueDelayState`'s, tested
    /// on its own: here every stamp is a minute old, so that no delay of a busy machine
    /// can change an answer.)
    @Test func aStandingQueueShedsWhatWaitedTooLongButNotWhatCarriesNoStamp() async throws {
        var policy = AdaptiveLimitPolicy()
        policy.initialLimit = 100
        let queue = QueueDelayState.Policy(target: .milliseconds(200), interval: .seconds(1), minimumRequests: 1)
        let router = Router()
        router.add(middleware: ErrorMiddleware(PlainErrorResponder()))
        router.group("api")
            .add(middleware: LoadSheddingMiddleware(limiter: AdaptiveLimiter(name: "test", policy: policy, queue: queue), isDependencyFailure: { _ in false }))
            .get("fast") { _, _ in "fast" }
        /// A stamp as if the request had been read a minute ago (the channel sets it in
        /// production).
        @Sendable func minuteOld(signedIn: Bool = false) -> HTTPFields {
            let now = NIODeadline.now().uptimeNanoseconds
            var fields: HTTPFields = [RequestArrival.headerName: String(now > 60_000_000_000 ? now - 60_000_000_000 : 0)]
            if signedIn { fields[.authorization] = "Token x" }
            return fields
        }
        try await Application(router: router).test(.router) { client in
            /// Sends until one is refused (at most 20 s): the first interval only observes.
            func refusedEventually(_ headers: HTTPFields) async throws -> Bool {
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    if try await client.execute(uri: "/api/fast", method: .get, headers: headers).status == .serviceUnavailable { return true }
                }
                return false
            }
            let anonymous = try await refusedEventually(minuteOld())
            #expect(anonymous)
            // A signed-in reader's allowance does not stretch to a minute.
            let signedIn = try await refusedEventually(minuteOld(signedIn: true))
            #expect(signedIn)
            // A request with no stamp (made in process) is not judged by its wait.
            let unstamped = try await client.execute(uri: "/api/fast", method: .get)
            #expect(unstamped.status == .ok)
        }
    }
}
