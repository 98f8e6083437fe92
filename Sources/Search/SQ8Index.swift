import Tensors

/// Int8 scalar quantisation: each dimension's range over the gallery maps to 0…255, one byte per
/// value (a quarter of the float vectors). A query meets every code through SIMD dot products of
/// the query (scaled per dimension) with the widened bytes; the best `rerank` candidates are then
/// re-ranked with exact vectors from `exactSource`. `referenceSimilarity` is the plain decoding the
/// tests hold the fast path to.
public final class SQ8Index: CompressedIndex {
    public static let kind = IndexKind.sq8
    public let dimension: Int
    /// Candidates re-ranked with exact vectors per query (at least k).
    public var rerank: Int
    public var exactSource: (any ExactVectorSource)?
    public private(set) var rerankFailure: RerankFailure?
    /// Per dimension: the value code 0 stands for, and the step between codes.
    private(set) var minimum: [Float] = []
    private(set) var step: [Float] = []
    /// Row-major [count, dimension] codes; row r holds item rowIDs[r].
    private(set) var codes: [UInt8] = []
    private var rowIDs: [Int] = []

    public static let defaultRerank = 64

    public init(dimension: Int, rerank: Int = SQ8Index.defaultRerank) {
        self.dimension = dimension
        self.rerank = rerank
    }

    public var count: Int { rowIDs.count }
    public var ids: [Int] { rowIDs }
    public var isTrained: Bool { !minimum.isEmpty }
    public var residentBytes: Int { codes.count + rowIDs.count * MemoryLayout<Int>.stride + 8 * dimension }

    public func train(_ vectors: UnsafePointer<Float>, count n: Int) {
        let d = dimension
        var low = [Float](repeating: .infinity, count: d), high = [Float](repeating: -.infinity, count: d)
        for i in 0..<n {
            for j in 0..<d {
                low[j] = min(low[j], vectors[i * d + j])
                high[j] = max(high[j], vectors[i * d + j])
            }
        }
        minimum = low.map { $0.isFinite ? $0 : 0 }
        step = (0..<d).map { j in high[j] > low[j] ? (high[j] - low[j]) / 255 : 1 }
    }

    public func add(ids new: [Int], vectors: UnsafePointer<Float>) {
        if !isTrained { train(vectors, count: new.count) }
        let d = dimension
        // Grown once per call (geometrically: an exact reserveCapacity per chunk of a build would
        // copy every code each time), then written in place.
        let start = codes.count
        codes.append(contentsOf: repeatElement(0, count: new.count * d))
        codes.withUnsafeMutableBufferPointer { out in
            minimum.withUnsafeBufferPointer { low in
                step.withUnsafeBufferPointer { step in
                    for i in 0..<new.count {
                        let row = out.baseAddress! + start + i * d
                        for j in 0..<d {
                            // Values past the trained range (items added later) clamp to its ends.
                            let code = ((vectors[i * d + j] - low[j]) / step[j]).rounded()
                            row[j] = UInt8(min(max(code, 0), 255))
                        }
                    }
                }
            }
        }
        rowIDs.append(contentsOf: new)
    }

    /// Moves the last row into each removed row's place.
    public func remove(ids gone: [Int]) {
        let removing = Set(gone), d = dimension
        var row = 0
        while row < rowIDs.count {
            if removing.contains(rowIDs[row]) {
                let last = rowIDs.count - 1
                if row != last {
                    codes.withUnsafeMutableBufferPointer { c in (c.baseAddress! + row * d).update(from: c.baseAddress! + last * d, count: d) }
                    rowIDs[row] = rowIDs[last]
                }
                rowIDs.removeLast()
                codes.removeLast(d)
            } else {
                row += 1
            }
        }
    }

    public func search(_ queries: Tensor, k: Int) -> [[SearchHit]] {
        rerankFailure = nil
        precondition(queries.shape.count == 2 && queries.shape[1] == dimension, "queries must be [Q, \(dimension)], got \(queries.shape)")
        let q = queries.shape[0], d = dimension, n = count
        guard n > 0, k > 0 else { return Array(repeating: [], count: q) }
        let depth = min(max(rerank, k), n)
        let candidates = QueryBatch.map(q) { part in
            var scaled = [Float](repeating: 0, count: d)
            var top = TopK(k: depth)
            return codes.withUnsafeBufferPointer { c in
                scaled.withUnsafeMutableBufferPointer { scaled in
                    part.map { row in
                        let query = queries.pointer + row * d
                        var offset: Float = 0
                        for j in 0..<d {
                            scaled[j] = query[j] * step[j]
                            offset += query[j] * minimum[j]
                        }
                        top.reset()
                        var bound = top.bound
                        for r in 0..<n {
                            let s = offset + Self.dot(scaled.baseAddress!, c.baseAddress! + r * d, count: d)
                            if s >= bound {
                                top.offer(SearchHit(index: rowIDs[r], similarity: s))
                                bound = top.bound
                            }
                        }
                        return top.sorted()
                    }
                }
            }
        }
        return Reranking.rerank(queries, candidates: candidates, k: k, source: exactSource, failure: &rerankFailure)
    }

    /// Σ a[j]·codes[j], the bytes widened to floats eight at a time.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ codes: UnsafePointer<UInt8>, count: Int) -> Float {
        var accumulator = SIMD8<Float>(repeating: 0)
        var j = 0
        while j + 8 <= count {
            let bytes = UnsafeRawPointer(codes + j).loadUnaligned(as: SIMD8<UInt8>.self)
            accumulator += UnsafeRawPointer(a + j).loadUnaligned(as: SIMD8<Float>.self) * SIMD8<Float>(bytes)
            j += 8
        }
        var sum = accumulator.sum()
        while j < count { sum += a[j] * Float(codes[j]); j += 1 }
        return sum
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.write(UInt32(rerank))
        writer.write(array: minimum)
        writer.write(array: step)
        writer.write(array: rowIDs.map(Int64.init))
        writer.write(array: codes)
    }

    public static func decode(from reader: inout BinaryReader, dimension: Int) throws -> SQ8Index {
        let index = SQ8Index(dimension: dimension, rerank: Int(try reader.read(UInt32.self)))
        index.minimum = try reader.readArray(of: Float.self)
        index.step = try reader.readArray(of: Float.self)
        index.rowIDs = try reader.readArray(of: Int64.self).map(Int.init)
        index.codes = try reader.readArray(of: UInt8.self)
        let trained = index.minimum.count == dimension && index.step.count == dimension
        guard index.rerank >= 1, trained || (index.minimum.isEmpty && index.step.isEmpty && index.rowIDs.isEmpty),
              index.codes.count == index.rowIDs.count * dimension, Set(index.rowIDs).count == index.rowIDs.count
        else { throw IndexFileError.truncated }
        guard index.rowIDs.allSatisfy({ $0 >= 0 }) else { throw IndexFileError.malformed("a negative item id") }
        return index
    }
}
