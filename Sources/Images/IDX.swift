import CZlib
import Foundation
import Tensors

public enum IDXError: Error, CustomStringConvertible {
    case unreadable(path: String)
    case malformed(path: String, reason: String)
    case mismatch(String)

    public var description: String {
        switch self {
        case let .unreadable(path): return "cannot open \(path): check the path (Fashion-MNIST: apt-get install dataset-fashion-mnist, files under /usr/share/datasets/fashion-mnist/)"
        case let .malformed(path, reason): return "\(path) is not an IDX file of unsigned bytes: \(reason)"
        case let .mismatch(reason): return reason
        }
    }
}

/// The IDX format of MNIST and Fashion-MNIST: magic 0x0000 0x08 (unsigned bytes) and the number of
/// dimensions, each dimension as a big-endian UInt32, then the bytes. zlib reads gzipped and plain files alike.
public struct IDXArray: Sendable {
    public var dimensions: [Int]
    public var bytes: [UInt8]

    /// The most data bytes an IDX file may declare (4 GiB: 60,000 images of 256 × 256 fit many times over).
    public static let maximumBytes = 1 << 32

    public static func read(_ path: String) throws -> IDXArray {
        guard let file = gzopen(path, "rb") else { throw IDXError.unreadable(path: path) }
        defer { gzclose(file) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        // Reads no more than the header lets the file hold, so a small gzip that inflates without
        // end (or a header that claims terabytes) stops at the limit instead of filling memory.
        var allowed = 4 + 4 * 255 + maximumBytes
        while data.count <= allowed {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw IDXError.malformed(path: path, reason: "decompression failed (truncated gzip?)") }
            if n == 0 { break }
            data += chunk[0..<Int(n)]
            if data.count >= 4, let declared = declaredSize(data) { allowed = declared }
        }
        guard data.count >= 4, data[0] == 0, data[1] == 0 else {
            throw IDXError.malformed(path: path, reason: "it does not start with the IDX magic number")
        }
        guard data[2] == 0x08 else { throw IDXError.malformed(path: path, reason: "element type 0x\(String(data[2], radix: 16)) is not unsigned byte (0x08)") }
        let rank = Int(data[3])
        guard rank >= 1, data.count >= 4 + 4 * rank else { throw IDXError.malformed(path: path, reason: "header is cut short") }
        var dimensions: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dimensions.append(Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3]))
        }
        guard let expected = CheckedSize.product(dimensions, limit: maximumBytes) else {
            throw IDXError.malformed(path: path, reason: "dimensions \(dimensions) declare more than \(maximumBytes) bytes")
        }
        let body = data.count - 4 - 4 * rank
        guard body == expected else {
            throw IDXError.malformed(path: path, reason: "header promises \(expected) bytes of data, file holds \(body)")
        }
        return IDXArray(dimensions: dimensions, bytes: Array(data[(4 + 4 * rank)...]))
    }

    /// Header plus data bytes the file declares, once its header is in `data`; nil before, or when
    /// the dimensions pass `maximumBytes` (reading then stops at the first chunk and is refused).
    private static func declaredSize(_ data: [UInt8]) -> Int? {
        let rank = Int(data[3])
        guard data.count >= 4 + 4 * rank else { return nil }
        let dimensions = (0..<rank).map { d in
            let o = 4 + 4 * d
            return Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
        }
        return CheckedSize.product(dimensions, limit: maximumBytes).map { 4 + 4 * rank + $0 } ?? 0
    }
}
