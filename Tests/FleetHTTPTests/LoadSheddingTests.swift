import FleetHTTP
import FleetResilience
import FleetSupport
import Hummingbird
import HummingbirdTesting
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
}
