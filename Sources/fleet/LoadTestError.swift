/// What `fleet loadtest` throws: bad options, a setup the target refused, or a writes file
/// that cannot be read. The code tells them apart; the message says what to do.
struct LoadTestError: Error, CustomStringConvertible {
    enum Code: String {
        case invalidOption = "invalid-option"
        case setup
        case writesFile = "writes-file"
    }

    let code: Code
    let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { message }
}
