import Foundation
import Synchronization

/// Decodes JPEG or PNG by content, not by file name, into 1 (gray) or 3 (RGB) channels.
public enum ImageDecoder {
    /// Pillow's `MAX_IMAGE_PIXELS` (a 1024 × 1024 × 256 / 3 budget, above which it warns); Akin
    /// refuses past twice that, as Pillow does with its `DecompressionBombError`.
    public static let pillowWarningPixels = 89_478_485
    /// The default for `maxPixels`: 178,956,970 pixels, about 13,400 × 13,400.
    public static let defaultMaxPixels = 2 * pillowWarningPixels

    private static let pixelLimit = Atomic<Int>(defaultMaxPixels)

    /// Images whose header declares more pixels are refused before any buffer is allocated
    /// (`akin --max-pixels` sets it for the whole process). Positive.
    public static var maxPixels: Int {
        get { pixelLimit.load(ordering: .relaxed) }
        set { pixelLimit.store(max(1, newValue), ordering: .relaxed) }
    }

    /// - Parameter minimumSide: when set, a JPEG may be decoded smaller (libjpeg-turbo's DCT
    ///   scaling, 1/8 to 1) as long as both sides stay at least this: what will be resized to a
    ///   network's input anyway needs no more, and decodes several times faster. PNG is always whole.
    /// - Parameter maxPixels: this call's pixel budget instead of the process's `maxPixels`, for a
    ///   caller with a tighter one (a server's request bodies, the fuzzers).
    public static func decode(_ data: Data, channels: Int, minimumSide: Int? = nil, maxPixels: Int? = nil) throws(ImageError) -> Image {
        guard channels == 1 || channels == 3 else { throw .unsupportedChannels(channels) }
        guard !data.isEmpty else { throw .empty }
        let head = [UInt8](data.prefix(8))
        let limit = max(1, maxPixels ?? Self.maxPixels)
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEG.decode(data, channels: channels, maxPixels: limit, minimumSide: minimumSide) }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try PNG.decode(data, channels: channels, maxPixels: limit) }
        throw .unknownFormat(firstBytes: head.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " "))
    }

    /// Width and height as the header declares them, without decoding; nil when the bytes are
    /// neither JPEG nor PNG or the header is cut short.
    public static func declaredSize(_ data: Data) -> (width: Int, height: Int)? {
        let head = [UInt8](data.prefix(24))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return JPEG.declaredSize(data) }
        // The PNG signature, then IHDR always first: length, "IHDR", width and height big-endian.
        guard head.count == 24, head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
              head[12..<16].elementsEqual("IHDR".utf8) else { return nil }
        func bigEndian(_ at: Int) -> Int { head[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (bigEndian(16), bigEndian(20))
    }

    /// What to tell about an image between Pillow's warning size and the budget: it decodes, but
    /// takes that much memory and time (Pillow warns with its `DecompressionBombWarning`); nil below.
    public static func largeImageWarning(_ data: Data, maxPixels: Int? = nil) -> String? {
        guard let (width, height) = declaredSize(data) else { return nil }
        let pixels = width * height, limit = maxPixels ?? Self.maxPixels
        guard pixels > pillowWarningPixels, pixels <= limit else { return nil }
        return "it declares \(width)×\(height) = \(pixels) pixels, more than the \(pillowWarningPixels) Pillow warns about: decoding takes up to \(pixels * 3 / 1_000_000) MB; --max-pixels refuses past \(limit)"
    }

    public static func decodeFile(_ path: String, channels: Int, minimumSide: Int? = nil) throws(ImageError) -> Image {
        try decode(try readFile(path), channels: channels, minimumSide: minimumSide)
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
