import Foundation

public enum NpyError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path) as .npy: \(reason)."
        case let .unsupported(path, reason):
            return "\(path): \(reason). Save float32 vectors in C order, e.g. numpy.save(path, numpy.ascontiguousarray(x, dtype=numpy.float32))."
        }
    }
}

/// NumPy's .npy format for float32 arrays in C order: the magic, a version, a Python-dict header
/// (descr, fortran_order, shape) padded to 64 bytes, then the raw little-endian values.
public enum NpyFile {
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    public static func read(from path: String) throws -> Tensor {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NpyError.unreadable(path: path, reason: "the file is missing or unreadable")
        }
        return try decode(data, path: path)
    }

    public static func decode(_ data: Data, path: String) throws -> Tensor {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NpyError.unreadable(path: path, reason: "it does not start with the .npy magic bytes")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NpyError.unreadable(path: path, reason: "the header is cut short") }
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }; headerStart = 12
        default: throw NpyError.unsupported(path: path, reason: ".npy version \(major) is not known")
        }
        guard bytes.count >= headerStart + headerLength else { throw NpyError.unreadable(path: path, reason: "the header is cut short") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = field("descr", in: header), let fortran = field("fortran_order", in: header),
              let shapeText = field("shape", in: header) else {
            throw NpyError.unreadable(path: path, reason: "the header lacks descr, fortran_order or shape: \(header)")
        }
        guard descr == "'<f4'" || descr == "'float32'" else {
            throw NpyError.unsupported(path: path, reason: "its values are \(descr), not little-endian float32 ('<f4')")
        }
        guard fortran == "False" else { throw NpyError.unsupported(path: path, reason: "it is in Fortran order") }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()"))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { text -> Int in
            guard let n = Int(text), n >= 0 else { throw NpyError.unreadable(path: path, reason: "shape \(shapeText) is not a list of sizes") }
            return n
        }
        let start = headerStart + headerLength
        // The shape is checked against what the file holds before anything is allocated for it.
        guard let count = CheckedSize.product(shape, limit: (bytes.count - start) / 4), bytes.count - start == count * 4 else {
            let needed = CheckedSize.product(shape + [4]).map { "\($0) bytes" } ?? "more bytes than any file holds"
            throw NpyError.unreadable(path: path, reason: "shape \(shape) needs \(needed) of values, the file holds \(bytes.count - start)")
        }
        let tensor = Tensor(shape: shape)
        bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                tensor.pointer[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)))
            }
        }
        return tensor
    }

    /// The value text of `'key': value` in the header dict (a shape's tuple kept whole).
    private static func field(_ key: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(key)':") else { return nil }
        let rest = header[range.upperBound...].drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
        return String(rest[..<end]).trimmingCharacters(in: .whitespaces)
    }

    public static func encode(_ tensor: Tensor) -> Data {
        let shape = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        // Magic, version and length take 10 bytes; the header ends in a newline and pads to a multiple of 64.
        let padding = (64 - (10 + header.utf8.count + 1) % 64) % 64
        header += String(repeating: " ", count: padding) + "\n"
        var data = Data(magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        var values = [UInt32](repeating: 0, count: tensor.count)
        for i in 0..<tensor.count { values[i] = tensor.pointer[i].bitPattern.littleEndian }
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicFile.write(encode(tensor), to: path)
    }
}
