import CPrefetch
import CVectorKernels
import Foundation
import Tensors

/// The graph in an index file.
extension HNSWIndex {
    public func encode(into writer: inout BinaryWriter) {
        writer.write(UInt32(parameters.m))
        writer.write(UInt32(parameters.efConstruction))
        writer.write(UInt32(parameters.efSearch))
        writer.write(parameters.seed)
        writer.write(array: generator.state)
        writer.write(Int32(entry))
        writer.write(Int32(topLevel))
        writer.write(array: nodeIDs.map(Int64.init))
        writer.write(array: deleted.map { $0 ? UInt8(1) : 0 })
        writer.write(array: levels)
        writer.write(array: vectors.array)
        writer.write(array: base.array)
        writer.write(array: upper.flatMap { $0 })
    }

    public static func decode(from reader: inout BinaryReader, dimension: Int) throws -> HNSWIndex {
        let m = Int(try reader.read(UInt32.self)), efConstruction = Int(try reader.read(UInt32.self))
        let efSearch = Int(try reader.read(UInt32.self)), seed = try reader.read(UInt64.self)
        guard m >= 2, m <= IndexSettings.maximumM, efConstruction >= 1, efSearch >= 1 else { throw IndexFileError.truncated }
        let index = HNSWIndex(dimension: dimension, parameters: HNSWParameters(m: m, efConstruction: efConstruction, efSearch: efSearch, seed: seed))
        let state = try reader.readArray(of: UInt64.self)
        guard state.count == index.generator.state.count else { throw IndexFileError.truncated }
        guard state.contains(where: { $0 != 0 }) else { throw IndexFileError.malformed("an all-zero random generator state") }
        index.generator = RandomGenerator(state: state)
        index.entry = try reader.read(Int32.self)
        index.topLevel = Int(try reader.read(Int32.self))
        index.nodeIDs = try reader.readArray(of: Int64.self).map(Int.init)
        index.deleted = try reader.readArray(of: UInt8.self).map { $0 != 0 }
        index.levels = try reader.readArray(of: UInt8.self)
        try reader.readArray(of: Float.self).withUnsafeBufferPointer { index.vectors.append(contentsOf: $0) }
        try reader.readArray(of: Int32.self).withUnsafeBufferPointer { index.base.append(contentsOf: $0) }
        let flatUpper = try reader.readArray(of: Int32.self)
        let n = index.nodeIDs.count
        guard index.deleted.count == n, index.levels.count == n, index.vectors.count == n * dimension,
              index.base.count == n * index.baseStride, Int(index.entry) < n, index.entry >= (n > 0 ? 0 : -1),
              index.topLevel == (n > 0 ? Int(index.levels[Int(index.entry)]) : -1)
        else { throw IndexFileError.truncated }
        var offset = 0
        index.upper.reserveCapacity(n)
        for level in index.levels {
            let size = Int(level) * index.upperStride
            guard offset + size <= flatUpper.count else { throw IndexFileError.truncated }
            index.upper.append(Array(flatUpper[offset..<(offset + size)]))
            offset += size
        }
        guard offset == flatUpper.count else { throw IndexFileError.truncated }
        // Every link must name a node, so a damaged file that passed the checksum cannot send a search out of bounds.
        for node in 0..<n {
            let start = node * index.baseStride
            guard (0...index.baseCapacity).contains(Int(index.base[start])),
                  index.base.buffer[(start + 1)...(start + index.baseCapacity)].allSatisfy({ (0..<Int32(n)).contains($0) })
            else { throw IndexFileError.truncated }
            for level in 0..<Int(index.levels[node]) {
                let list = index.upper[node], first = level * index.upperStride
                guard (0...index.parameters.m).contains(Int(list[first])),
                      list[(first + 1)..<(first + index.upperStride)].allSatisfy({ (0..<Int32(n)).contains($0) })
                else { throw IndexFileError.truncated }
                // A link on layer level + 1 must reach a node that has that layer, or the walk reads past its lists.
                guard list[(first + 1)..<(first + 1 + Int(list[first]))].allSatisfy({ Int(index.levels[Int($0)]) > level }) else {
                    throw IndexFileError.malformed("a link on layer \(level + 1) to a node below it")
                }
            }
        }
        guard index.nodeIDs.allSatisfy({ $0 >= 0 }) else { throw IndexFileError.malformed("a negative item id") }
        for (node, id) in index.nodeIDs.enumerated() {
            guard index.nodeOf.updateValue(Int32(node), forKey: id) == nil else { throw IndexFileError.truncated }
        }
        index.liveCount = index.deleted.lazy.filter { !$0 }.count
        return index
    }
}
