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
        try decode(try readFile(path), channels: channels)
    }

    /// The file's bytes, read with POSIX calls: Foundation's `Data(contentsOf:)` leaks its 4 KB
    /// read buffer for an empty file (LeakSanitizer shows it), and a batch job meets empty files.
    static func readFile(_ path: String) throws(ImageError) -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .unreadable("not a regular file") }
        var data = Data(count: Int(status.st_size))
        var filled = 0
        while filled < data.count {
            let got = data.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
            if got == 0 { break }  // the file shrank while being read: decode what is there
            filled += got
        }
        return data.prefix(filled)
    }
}

/// Writes images, for `import-idx`, tests, and later the reports.
public enum ImageEncoder {
    public static func png(_ image: Image) throws(ImageError) -> Data { try PNG.encode(image) }
    public static func jpeg(_ image: Image, quality: Int = 90) throws(ImageError) -> Data { try JPEG.encode(image, quality: quality) }
}
