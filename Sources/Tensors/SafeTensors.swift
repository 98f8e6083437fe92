import Foundation

public enum SafeTensorsError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case missingTensor(path: String, name: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .malformed(path, reason): return "\(path) is not a valid safetensors file: \(reason). Was it written completely by akin?"
        case let .missingTensor(path, name): return "\(path) has no tensor named \"\(name)\"; it was written by another program or version"
        }
    }
}

/// The safetensors format (8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the raw little-endian data), Float32 only,
/// with free-form string metadata under "__metadata__".
/// An integer tensor in a safetensors file: PyTorch keeps counters such as batch norm's
/// `num_batches_tracked` (a 0-d int64) beside the float weights.
public struct Int64Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Int64]

    public init(shape: [Int], values: [Int64]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
    }
}

public struct SafeTensorsFile {
    public var tensors: [String: Tensor] = [:]
    /// The file's I64 tensors; Akin's own files have none.
    public var int64Tensors: [String: Int64Tensor] = [:]
    public var metadata: [String: String] = [:]

    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public func tensor(_ name: String, in path: String) throws -> Tensor {
        guard let tensor = tensors[name] else { throw SafeTensorsError.missingTensor(path: path, name: name) }
        return tensor
    }

    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted(), integerNames = int64Tensors.keys.sorted()
        for name in names {
            let tensor = tensors[name]!
            let bytes = tensor.count * 4
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        for name in integerNames {
            let tensor = int64Tensors[name]!
            let bytes = tensor.values.count * 8
            header[name] = ["dtype": "I64", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad with spaces so the data starts 8-byte aligned, as the format recommends.
        while (json.count % 8) != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            let tensor = tensors[name]!
            data.append(UnsafeBufferPointer(start: tensor.pointer, count: tensor.count))
        }
        for name in integerNames {
            for value in int64Tensors[name]!.values { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    public func write(to path: String) throws {
        try AtomicFile.write(try encoded(), to: path)
    }

    public static func read(from path: String) throws -> SafeTensorsFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw SafeTensorsError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try decode(data, path: path)
    }

    public static func decode(_ data: Data, path: String) throws -> SafeTensorsFile {
        guard data.count >= 8 else { throw SafeTensorsError.malformed(path: path, reason: "shorter than its 8-byte header length") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw SafeTensorsError.malformed(path: path, reason: "header length \(headerLength) runs past the end of the file")
        }
        let dataStart = 8 + Int(headerLength)
        let json = data.subdata(in: 8..<dataStart)
        guard let header = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            throw SafeTensorsError.malformed(path: path, reason: "header is not a JSON object")
        }
        var file = SafeTensorsFile()
        for (name, value) in header {
            if name == "__metadata__" {
                guard let metadata = value as? [String: String] else {
                    throw SafeTensorsError.malformed(path: path, reason: "__metadata__ is not a map of strings")
                }
                file.metadata = metadata
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw SafeTensorsError.malformed(path: path, reason: "entry \"\(name)\" lacks dtype, shape or data_offsets") }
            guard dtype == "F32" || dtype == "I64" else {
                throw SafeTensorsError.malformed(path: path, reason: "tensor \"\(name)\" is \(dtype); akin reads F32 (and I64 counters) only")
            }
            let elementSize = dtype == "F32" ? 4 : 8
            // Products and sums from the header are checked for overflow before any is trusted.
            var count = 1, overflow = false
            for dimension in shape {
                let (product, over) = count.multipliedReportingOverflow(by: Swift.max(dimension, 0))
                (count, overflow) = (product, overflow || over)
            }
            let (bytes, bytesOverflow) = count.multipliedReportingOverflow(by: elementSize)
            guard shape.allSatisfy({ $0 >= 0 }), !overflow, !bytesOverflow, offsets[0] >= 0, offsets[1] >= offsets[0],
                  offsets[1] <= data.count - dataStart, offsets[1] - offsets[0] == bytes else {
                throw SafeTensorsError.malformed(path: path, reason: "tensor \"\(name)\" has a byte range that does not fit its shape or the file")
            }
            let begin = dataStart + offsets[0]
            if dtype == "I64" {
                let values = data.withUnsafeBytes { raw in
                    (0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: begin + 8 * $0, as: Int64.self)) }
                }
                file.int64Tensors[name] = Int64Tensor(shape: shape, values: values)
                continue
            }
            let tensor = Tensor(shape: shape)
            data.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(tensor.pointer).copyMemory(from: raw.baseAddress! + begin, byteCount: bytes)
            }
            file.tensors[name] = tensor
        }
        return file
    }
}
