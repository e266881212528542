/// What the setup and the mix share: the client, the writes log, and what names and
/// seeds the run's users and draws.
struct LoadTestContext: Sendable {
    let client: LoadTestClient
    let writes: AcknowledgedWriteLog
    let runID: String
    let password: String
    let seed: UInt64

    /// Records an acknowledged write.
    func acknowledge(_ write: AcknowledgedWrite) { writes.append(write) }
}
