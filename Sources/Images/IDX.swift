import CZlib
import Foundation

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

    public static func read(_ path: String) throws -> IDXArray {
        guard let file = gzopen(path, "rb") else { throw IDXError.unreadable(path: path) }
        defer { gzclose(file) }
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw IDXError.malformed(path: path, reason: "decompression failed (truncated gzip?)") }
            if n == 0 { break }
            data += chunk[0..<Int(n)]
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
        let expected = dimensions.reduce(1, *)
        let body = data.count - 4 - 4 * rank
        guard body == expected else {
            throw IDXError.malformed(path: path, reason: "header promises \(expected) bytes of data, file holds \(body)")
        }
        return IDXArray(dimensions: dimensions, bytes: Array(data[(4 + 4 * rank)...]))
    }
}
