import Foundation
import Synchronization

/// One write the target acknowledged (a 2xx answer), as a line of the writes file, with
/// what must exist afterwards. `fleet loadtest verify` reads the file back and checks each
/// one through the public API: an acknowledged write must never be lost.
struct AcknowledgedWrite: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        /// A registered user: its profile exists.
        case user
        /// An article: `slug` answers with `title`.
        case article
        /// A comment: `commentID` is among the comments of `slug`, with `body`.
        case comment
        /// A favorite (`favorited` true) or its removal (false): seen by `user` on `slug`.
        case favorite
        /// A favorite or unfavorite that got no answer: whether it happened is unknown,
        /// so the pair's earlier expectation no longer holds (the only kind that is not an
        /// acknowledgement).
        case favoriteUnsettled = "favorite-unsettled"
        /// `user` follows `profile`.
        case follow
    }

    var kind: Kind
    /// Who wrote it (username).
    var user: String
    /// The writer's e-mail, for verify to sign in as them where the check needs a viewer.
    var email: String?
    var slug: String?
    var title: String?
    /// A comment's id as the server sent it (a JSON number).
    var commentID: Int64?
    var body: String?
    var favorited: Bool?
    var profile: String?
}

/// The writes file: one JSON object a line, appended as acknowledgements arrive, so that
/// a load test killed half-way (a chaos test) still leaves every write it saw.
final class AcknowledgedWriteLog: Sendable {
    private let handle: Mutex<FileHandle>
    let url: URL

    /// Creates (or empties) the file.
    init(url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw LoadTestError(.writesFile, "cannot create \(url.path)")
        }
        handle = Mutex(try FileHandle(forWritingTo: url))
        self.url = url
    }

    func append(_ write: AcknowledgedWrite) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(write) else { return }
        line.append(UInt8(ascii: "\n"))
        handle.withLock { $0.write(line) }
    }

    func close() {
        handle.withLock { try? $0.close() }
    }

    /// Every write of a file; a line that is not a write fails the read (a verify that
    /// skipped lines would miss losses).
    static func read(_ url: URL) throws(LoadTestError) -> [AcknowledgedWrite] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw LoadTestError(.writesFile, "cannot read \(url.path): \(error)")
        }
        var writes: [AcknowledgedWrite] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            do { writes.append(try JSONDecoder().decode(AcknowledgedWrite.self, from: Data(line.utf8))) } catch {
                throw LoadTestError(.writesFile, "\(url.path) line \(number + 1) is not a write: \(line.prefix(200))")
            }
        }
        return writes
    }
}
