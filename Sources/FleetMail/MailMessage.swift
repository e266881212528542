public import Foundation

/// A plain-text e-mail to one recipient.
public struct MailMessage: Sendable, Equatable {
    public var from: String
    public var to: String
    public var subject: String
    public var body: String
    /// Stable across resends of the same message (derive it from what caused it), so a
    /// receiver can drop a duplicate: sending is at least once.
    public var messageID: String
    public var date: Date

    public init(from: String, to: String, subject: String, body: String, messageID: String, date: Date = Date()) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.messageID = messageID
        self.date = date
    }

    /// The message as sent after DATA: headers, the body with CRLF line ends, and every
    /// line that starts with a dot doubled (the client adds the terminating dot). The body
    /// travels as 8-bit text when the server takes it (`eightBit`, its 8BITMIME) or is
    /// ASCII, and its lines fit SMTP's 998 bytes; else in base64. Throws `invalid` for a
    /// header value with a line break or an address SMTP cannot carry.
    func encoded(eightBit: Bool) throws(SMTPError) -> String {
        for (name, value) in [("From", from), ("To", to), ("Subject", subject), ("Message-ID", messageID)] {
            if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                throw SMTPError(.invalid, "the \(name) header has a line break")
            }
        }
        for address in [from, to] where !Self.isAddress(address) {
            throw SMTPError(.invalid, "not an address SMTP can carry: \(address)")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let lines = body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        let plain = lines.allSatisfy { $0.utf8.count <= 998 } && (eightBit || body.unicodeScalars.allSatisfy(\.isASCII))
        let encodedBody = plain
            ? lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
            : Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return [
            "From: <\(from)>",
            "To: <\(to)>",
            "Subject: \(Self.encodedWord(subject))",
            "Date: \(formatter.string(from: date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: \(plain ? (body.unicodeScalars.allSatisfy(\.isASCII) ? "7bit" : "8bit") : "base64")",
            "",
            encodedBody,
        ].joined(separator: "\r\n")
    }

    /// A header value as it may travel: ASCII as is, anything else as an RFC 2047 word.
    static func encodedWord(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !$0.isASCII }) else { return text }
        return "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    /// An address fit for `MAIL FROM:<…>` and `RCPT TO:<…>`: ASCII, no spaces or angle
    /// brackets, one @ with something on each side.
    public static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && text.utf8.count <= 254
            && text.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && $0.value < 127 && $0 != "<" && $0 != ">" }
    }
}
