import Foundation
import Hummingbird

/// What a key may do: read (search, list, embed) or also change (add, remove, create, drop, snapshot).
public enum KeyRole: String, Sendable, Comparable {
    case read, admin

    public static func < (a: KeyRole, b: KeyRole) -> Bool { a == .read && b == .admin }
}

/// The API keys from `--api-keys FILE`: one key a line, `read KEY` or `admin KEY`; blank lines and
/// lines starting with `#` are skipped. Without a file every request may do everything, which the
/// server allows on a loopback address only.
public struct APIKeys: Sendable {
    let keys: [(role: KeyRole, key: [UInt8])]

    /// No keys: everything open (loopback only).
    public static let open = APIKeys(keys: [])
    public var required: Bool { !keys.isEmpty }

    init(keys: [(role: KeyRole, key: [UInt8])]) { self.keys = keys }

    /// Keys shorter than this are refused: a guessable key is no key.
    public static let minimumLength = 16

    public static func load(from path: String) throws -> APIKeys {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ServerError.badAPIKeys(path: path, reason: "it cannot be read as UTF-8 text")
        }
        var keys: [(role: KeyRole, key: [UInt8])] = []
        // Lines end in LF or CRLF (a CRLF is one Character in Swift, so split on newlines, not on "\n").
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let parts = trimmed.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, let role = KeyRole(rawValue: String(parts[0])) else {
                throw ServerError.badAPIKeys(path: path, reason: "line \(number + 1) is not `read KEY` or `admin KEY`")
            }
            guard parts[1].utf8.count >= minimumLength, parts[1].utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw ServerError.badAPIKeys(path: path, reason: "line \(number + 1): a key is at least \(minimumLength) printable ASCII characters")
            }
            keys.append((role, Array(parts[1].utf8)))
        }
        guard !keys.isEmpty else { throw ServerError.badAPIKeys(path: path, reason: "it holds no key") }
        return APIKeys(keys: keys)
    }

    /// The role of the request's `Authorization: Bearer KEY`, nil when it has none or an unknown one.
    /// Every key is compared in full, whatever matched, so the time taken tells nothing of the keys.
    func role(of request: Request) -> KeyRole? {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        let given = Array(header.utf8.dropFirst(7))
        var found: KeyRole?
        for (role, key) in keys where Self.equalInConstantTime(given, key) && (found == nil || found! < role) { found = role }
        return found
    }

    /// Throws 401 without a valid key, 403 when the key's role is not enough.
    func require(_ needed: KeyRole, _ request: Request) throws {
        guard required else { return }
        guard let role = role(of: request) else {
            throw APIError.unauthorized("send an API key as `Authorization: Bearer KEY`")
        }
        guard role >= needed else { throw APIError.forbidden("this needs an admin key; the key given may only read") }
    }

    /// Compares every byte of the longer of the two, so the time depends on lengths only.
    static func equalInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
