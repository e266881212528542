import ArgumentParser
import FleetSupport
import Foundation
import Synchronization

extension LoadTest {
    /// Checks through the public API that every write a load test saw acknowledged exists:
    /// users, articles (with their titles), comments (by id, with their bodies), follows and
    /// the last acknowledged state of each favorite. Exits 1 if any is lost or could not be
    /// checked.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that every acknowledged write in a writes file exists on the target; exit 1 if any is lost."
        )

        @Option(help: "The writes file of a run (OUT/writes.jsonl).") var writes: String
        @Option(name: .customLong("target"), help: "Base URL to check against; repeat or comma-separate for several.")
        var targets: [String] = ["http://127.0.0.1:8080"]
        @Option(help: "The load users' password (to see favorites and follows as their users).") var password = LoadTest.defaultPassword
        @Option(help: "Checks in flight at once.") var parallelism = 8
        @Option(help: "The Origin header sent with every request.") var origin = "http://localhost:4100"

        func run() async throws {
            let file = URL(fileURLWithPath: writes)
            let plan = VerifyPlan(try AcknowledgedWriteLog.read(file))
            let client = try LoadTestClient(
                targets: targets.flatMap { $0.split(separator: ",").map(String.init) }, origin: origin, timeout: .seconds(30), poolSize: parallelism
            )
            let results: [VerifyPlan.Result]
            do {
                results = try await check(plan, client: client)
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw error
            }
            let lost = results.filter { if case .lost = $0 { true } else { false } }
            let unchecked = results.filter { if case .unchecked = $0 { true } else { false } }
            print("checked \(results.count) writes (\(plan.writes) lines, \(plan.unsettled) favorites unsettled and skipped): \(lost.count) lost, \(unchecked.count) could not be checked")
            for result in (lost + unchecked).prefix(20) { print("  \(result)") }
            if !lost.isEmpty || !unchecked.isEmpty { throw ExitCode(1) }
        }

        private func check(_ plan: VerifyPlan, client: LoadTestClient) async throws -> [VerifyPlan.Result] {
            // Sign in once per user whose view a check needs.
            let emails = plan.viewers
            let password = password
            let tokens = try await parallelMap(emails.count, parallelism: parallelism) { index -> String? in
                let answer = await Self.retrying {
                    await client.send(.POST, "/api/users/login", body: LoadTestPayload.login(emails[index], password))
                }
                return answer.decode(LoadTestPayload.User<LoadTestPayload.Token>.self)?.user.token
            }
            let tokenByEmail = Dictionary(uniqueKeysWithValues: zip(emails, tokens))
            let checks = plan.checks
            return try await parallelMap(checks.count, parallelism: parallelism) { index in
                await Self.run(checks[index], client: client, tokens: tokenByEmail)
            }
        }

        private static func run(_ check: VerifyPlan.Check, client: LoadTestClient, tokens: [String: String?]) async -> VerifyPlan.Result {
            func token(_ email: String) -> String? { tokens[email] ?? nil }
            switch check {
            case .user(let username):
                let answer = await retrying { await client.send(.GET, "/api/profiles/\(ConduitWorkload.escaped(username))") }
                return VerifyPlan.judge(check, answer, present: answer.decode(LoadTestPayload.Profile<LoadTestPayload.ProfileView>.self)?.profile.username == username)
            case .article(let slug, let title):
                let answer = await retrying { await client.send(.GET, "/api/articles/\(ConduitWorkload.escaped(slug))") }
                return VerifyPlan.judge(check, answer, present: answer.decode(LoadTestPayload.Article<LoadTestPayload.ArticleView>.self)?.article.title == title)
            case .comments(let slug, let expected):
                let answer = await retrying { await client.send(.GET, "/api/articles/\(ConduitWorkload.escaped(slug))/comments") }
                let comments = answer.decode(LoadTestPayload.Comments<LoadTestPayload.CommentView>.self)?.comments ?? []
                let found = Dictionary(comments.map { ($0.id, $0.body) }, uniquingKeysWith: { first, _ in first })
                let missing = expected.filter { found[$0.id] != $0.body }
                if case .success = answer.outcome, !missing.isEmpty {
                    return .lost("comments \(missing.map { String($0.id) }.joined(separator: ", ")) on \(slug)")
                }
                return VerifyPlan.judge(check, answer, present: true)
            case .favorite(let user, let email, let slug, let favorited):
                guard let viewer = token(email) else { return .unchecked("\(check): cannot sign in as \(user)") }
                let answer = await retrying { await client.send(.GET, "/api/articles/\(ConduitWorkload.escaped(slug))", token: viewer) }
                return VerifyPlan.judge(check, answer, present: answer.decode(LoadTestPayload.Article<LoadTestPayload.ArticleView>.self)?.article.favorited == favorited)
            case .follow(let user, let email, let profile):
                guard let viewer = token(email) else { return .unchecked("\(check): cannot sign in as \(user)") }
                let answer = await retrying { await client.send(.GET, "/api/profiles/\(ConduitWorkload.escaped(profile))", token: viewer) }
                return VerifyPlan.judge(check, answer, present: answer.decode(LoadTestPayload.Profile<LoadTestPayload.ProfileView>.self)?.profile.following == true)
            }
        }

        /// Sends again after a transport failure, a 429 or a 5xx (a target under chaos may
        /// be restarting), waiting 0.5, 1, 2 and 4 s; a 404 or another answer is final.
        static func retrying(_ send: () async -> LoadTestClient.Answer) async -> LoadTestClient.Answer {
            var answer = await send()
            for attempt in 0..<4 {
                guard answer.status.map({ $0 == 429 || $0 >= 500 }) ?? true else { return answer }
                try? await Task.sleep(for: .milliseconds(500 << attempt))
                answer = await send()
            }
            return answer
        }
    }
}
