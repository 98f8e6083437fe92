import Foundation

/// Appends little-endian numbers and whole arrays to a byte buffer (index files).
public struct BinaryWriter {
    public private(set) var data = Data()

    public init() {}

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Float) { write(value.bitPattern) }

    public mutating func write(_ text: String) {
        let bytes = Array(text.utf8)
        write(UInt32(bytes.count))
        data.append(contentsOf: bytes)
    }

    /// Raw values of a plain-number array, preceded by their count. Little-endian hosts only
    /// (x86-64 and arm64 Linux), which `IndexFile` checks when reading.
    public mutating func write<T: BitwiseCopyable>(array: [T]) {
        write(UInt64(array.count))
        array.withUnsafeBytes { data.append(contentsOf: $0) }
    }
}

/// Reads what `BinaryWriter` wrote, throwing (never trapping) when the bytes run out.
public struct BinaryReader {
    private let data: Data
    private var offset: Int

    public init(_ data: Data) {
        self.data = data
        self.offset = data.startIndex
    }

    public var remaining: Int { data.endIndex - offset }

    private mutating func take(_ count: Int) throws -> Data {
        guard count >= 0, count <= remaining else { throw IndexFileError.truncated }
        defer { offset += count }
        return data[offset..<(offset + count)]
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let bytes = try take(MemoryLayout<T>.size)
        return T(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) })
    }

    /// A count written as UInt64, refused past `limit`: a file's word never becomes an Int that overflows.
    public mutating func readCount(limit: Int = .max) throws -> Int {
        let count = try read(UInt64.self)
        guard count <= UInt64(limit) else { throw IndexFileError.malformed("a count of \(count) where at most \(limit) can be") }
        return Int(count)
    }

    public mutating func readFloat() throws -> Float { Float(bitPattern: try read(UInt32.self)) }

    public mutating func readString() throws -> String {
        let count = Int(try read(UInt32.self))
        return String(decoding: try take(count), as: UTF8.self)
    }

    public mutating func readArray<T: BitwiseCopyable>(of _: T.Type, maxCount: Int = .max) throws -> [T] {
        let count = try read(UInt64.self)
        let stride = MemoryLayout<T>.stride
        guard count <= UInt64(min(maxCount, remaining / max(stride, 1))) else { throw IndexFileError.truncated }
        let bytes = try take(Int(count) * stride)
        return [T](unsafeUninitializedCapacity: Int(count)) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            }
            initialized = Int(count)
        }
    }
}
