import Foundation

/// Decodes JPEG or PNG by content, not by file name, into 1 (gray) or 3 (RGB) channels.
public enum ImageDecoder {
    public static func decode(_ data: Data, channels: Int) throws(ImageError) -> Image {
        guard channels == 1 || channels == 3 else { throw .unsupportedChannels(channels) }
        guard !data.isEmpty else { throw .empty }
        let head = [UInt8](data.prefix(8))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEG.decode(data, channels: channels) }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try PNG.decode(data, channels: channels) }
        throw .unknownFormat(firstBytes: head.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " "))
    }

    public static func decodeFile(_ path: String, channels: Int) throws(ImageError) -> Image {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable((error as NSError).localizedDescription)
        }
        return try decode(data, channels: channels)
    }
}

/// Writes images, for `import-idx`, tests, and later the reports.
public enum ImageEncoder {
    public static func png(_ image: Image) throws(ImageError) -> Data { try PNG.encode(image) }
    public static func jpeg(_ image: Image, quality: Int = 90) throws(ImageError) -> Data { try JPEG.encode(image, quality: quality) }
}
