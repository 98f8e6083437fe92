/// A collection's name: the only part of a request that reaches the file system, so it is
/// `[A-Za-z0-9_-]{1,64}` and nothing else (no dots, no slashes).
public struct CollectionName: Sendable, Hashable, CustomStringConvertible {
    public let value: String
    public static let maximumLength = 64

    public init?(_ text: some StringProtocol) {
        guard !text.isEmpty, text.utf8.count <= Self.maximumLength,
              text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f || $0 == 0x2d })
        else { return nil }
        value = String(text)
    }

    public var description: String { value }
    /// The gallery file inside the server's directory.
    public var fileName: String { value + ".akin" }
    /// The folder that keeps the images added through the API.
    public var imagesFolder: String { value + ".images" }
}
