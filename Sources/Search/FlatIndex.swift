import CVectorKernels
import Tensors

/// Exact search, the reference every other index is measured against. A batch of queries meets
/// the gallery through blocked BLAS matrix products (a block of queries against a tile of rows at a
/// time, so the similarity buffer stays small for any gallery size); one query alone is scored by
/// the SIMD row kernel (`akin_dot_rows`), which skips a matrix product's packing. A heap per query
/// keeps the best k (a partial sort).
public final class FlatIndex: VectorIndex {
    public static let kind = IndexKind.flat
    public let dimension: Int
    /// Row-major [count, dimension]; row r holds item rowIDs[r].
    private(set) var vectors: [Float] = []
    private(set) var rowIDs: [Int] = []
    private var rowOf: [Int: Int] = [:]
    /// Queries per matrix product and gallery rows per tile: 256 × 1024 floats is a 1 MB buffer.
    var queryBlock = 256
    var tileRows = 1024

    public init(dimension: Int) {
        self.dimension = dimension
    }

    public var count: Int { rowIDs.count }
    public var ids: [Int] { rowIDs }
    func row(of id: Int) -> Int? { rowOf[id] }

    public func add(ids: [Int], vectors new: UnsafePointer<Float>) {
        vectors.reserveCapacity(vectors.count + ids.count * dimension)
        vectors.append(contentsOf: UnsafeBufferPointer(start: new, count: ids.count * dimension))
        for id in ids {
            precondition(rowOf[id] == nil, "item \(id) is already in the index")
            rowOf[id] = rowIDs.count
            rowIDs.append(id)
        }
    }

    /// Moves the last row into each removed row's place, so rows stay contiguous.
    public func remove(ids: [Int]) {
        let d = dimension
        for id in ids {
            guard let row = rowOf.removeValue(forKey: id) else { continue }
            let last = rowIDs.count - 1
            if row != last {
                vectors.withUnsafeMutableBufferPointer { v in
                    (v.baseAddress! + row * d).update(from: v.baseAddress! + last * d, count: d)
                }
                rowIDs[row] = rowIDs[last]
                rowOf[rowIDs[row]] = row
            }
            rowIDs.removeLast()
            vectors.removeLast(d)
        }
    }

    public func search(_ queries: Tensor, k: Int) -> [[SearchHit]] {
        precondition(queries.shape.count == 2 && queries.shape[1] == dimension, "queries must be [Q, \(dimension)], got \(queries.shape)")
        let q = queries.shape[0]
        guard count > 0, k > 0 else { return Array(repeating: [], count: q) }
        return q == 1 ? [searchOne(queries.pointer, k: k)] : searchBatch(queries, k: k)
    }

    /// Scores a tile of rows at a time into a buffer that stays in the first-level cache, then feeds
    /// the heap from it: the kernel scores four rows per pass over the query.
    private func searchOne(_ query: UnsafePointer<Float>, k: Int) -> [SearchHit] {
        let d = dimension, n = count, tile = min(1024, n)
        var top = TopK(k: min(k, n))
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: tile)
        defer { scores.deallocate() }
        vectors.withUnsafeBufferPointer { v in
            var first = 0
            while first < n {
                let width = min(tile, n - first)
                akin_dot_rows(query, v.baseAddress! + first * d, width, d, scores)
                top.offer(scores: scores, count: width, firstRow: first)
                first += width
            }
        }
        return top.sorted().map { SearchHit(index: rowIDs[$0.index], similarity: $0.similarity) }
    }

    /// Blocks of queries against tiles of rows, one GEMM each; the rows of a block then feed their
    /// heaps on all compute threads (the GEMM has its own).
    private func searchBatch(_ queries: Tensor, k: Int) -> [[SearchHit]] {
        let q = queries.shape[0], n = count, d = dimension
        let block = min(queryBlock, q), tile = min(tileRows, n)
        let similarities = Tensor(shape: [block, tile])
        var results: [[SearchHit]] = []
        results.reserveCapacity(q)
        var tops = [TopK](repeating: TopK(k: min(k, n)), count: block)
        let threads = max(1, min(QueryBatch.threads, block / 16))
        vectors.withUnsafeBufferPointer { v in
            var start = 0
            while start < q {
                let rows = min(block, q - start)
                for i in 0..<rows { tops[i].reset() }
                var first = 0
                while first < n {
                    let width = min(tile, n - first)
                    gemm(transposeB: true, m: rows, n: width, k: d, a: queries.pointer + start * d,
                         b: v.baseAddress! + first * d, c: similarities.pointer)
                    tops.withUnsafeMutableBufferPointer { tops in
                        let heaps = tops.baseAddress!, scores = similarities.pointer
                        let feed = { (i: Int) in heaps[i].offer(scores: scores + i * width, count: width, firstRow: first) }
                        if threads > 1 && rows >= 2 * threads {
                            QueryBatch.parallel(threads) { t in
                                for i in (t * rows / threads)..<((t + 1) * rows / threads) { feed(i) }
                            }
                        } else {
                            for i in 0..<rows { feed(i) }
                        }
                    }
                    first += width
                }
                for i in 0..<rows {
                    results.append(tops[i].sorted().map { SearchHit(index: rowIDs[$0.index], similarity: $0.similarity) })
                }
                start += rows
            }
        }
        return results
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.write(array: rowIDs.map(Int64.init))
        writer.write(array: vectors)
    }

    public static func decode(from reader: inout BinaryReader, dimension: Int) throws -> FlatIndex {
        let index = FlatIndex(dimension: dimension)
        let ids = try reader.readArray(of: Int64.self).map(Int.init)
        let vectors = try reader.readArray(of: Float.self)
        guard vectors.count == ids.count * dimension, Set(ids).count == ids.count else { throw IndexFileError.truncated }
        index.add(ids: ids, vectors: vectors)
        return index
    }
}

extension FlatIndex {
    /// Every vector of the gallery in an exact index: `akin search --exact` and `akin calibrate`.
    public convenience init(exactOf store: GalleryStore) throws {
        let (ids, vectors, _) = try store.allVectors()
        self.init(dimension: store.info.dimension)
        add(ids: ids, vectors: vectors.pointer)
    }
}
