import CVectorKernels
import Tensors

/// Exact search, the reference every other index is measured against, and Akin's one brute-force
/// search: galleries (`akin search --exact`, calibration), retrieval metrics (a matrix's rows as
/// items, leave-one-out) and t-SNE's nearest neighbours (Euclidean, `init(euclideanRows:)`).
///
/// A batch of queries meets the gallery through blocked BLAS matrix products (a block of queries
/// against a tile of rows at a time, so the similarity buffer stays small for any gallery size); one
/// query alone is scored by the SIMD row kernel (`akin_dot_rows`), which skips a matrix product's
/// packing. A heap per query keeps the best k (a partial sort).
public final class FlatIndex: VectorIndex {
    public static let kind = IndexKind.flat
    public let dimension: Int
    /// Row-major [count, dimension]; row r holds item rowIDs[r].
    private(set) var vectors: [Float] = []
    private(set) var rowIDs: [Int] = []
    private var rowOf: [Int: Int] = [:]
    /// Added to row r's score: −‖row‖²/2 makes the ranking Euclidean (x·y − ‖y‖²/2 = (‖x‖² − ‖x − y‖²)/2,
    /// ‖x‖² being the same for every row); nil scores by the dot product alone.
    private var rowBias: [Float]?
    /// Queries per matrix product and gallery rows per tile: 256 × 1024 floats is a 1 MB buffer.
    /// Results do not depend on them (tests shrink them to cross block and tile edges).
    public var queryBlock = 256
    public var tileRows = 1024

    public init(dimension: Int) {
        self.dimension = dimension
    }

    /// A matrix's rows ([N, D]) as items 0..<N, scored by dot product: `SearchHit.id` is the row number.
    public convenience init(rows: Tensor) {
        self.init(dimension: rows.shape[1])
        add(ids: Array(0..<rows.shape[0]), vectors: rows.pointer)
    }

    /// A matrix's rows as items 0..<N, ranked by Euclidean distance, nearest first: a hit's
    /// similarity s is (‖x‖² − ‖x − y‖²)/2 for query x, so ‖x − y‖² = ‖x‖² − 2s. Items cannot be
    /// added or removed afterwards.
    public convenience init(euclideanRows rows: Tensor) {
        self.init(rows: rows)
        let d = dimension
        rowBias = (0..<count).map { r in
            vectors.withUnsafeBufferPointer { v in -0.5 * Elementwise.dot(v.baseAddress! + r * d, v.baseAddress! + r * d, count: d) }
        }
    }

    public var count: Int { rowIDs.count }
    public var ids: [Int] { rowIDs }
    func row(of id: Int) -> Int? { rowOf[id] }

    public func add(ids: [Int], vectors new: UnsafePointer<Float>) {
        precondition(rowBias == nil, "a Euclidean index is built whole")
        // No exact reserveCapacity: called per chunk of a build, it would copy every row each time
        // (quadratic); append grows geometrically.
        vectors.append(contentsOf: UnsafeBufferPointer(start: new, count: ids.count * dimension))
        for id in ids {
            precondition(rowOf[id] == nil, "item \(id) is already in the index")
            rowOf[id] = rowIDs.count
            rowIDs.append(id)
        }
    }

    /// Moves the last row into each removed row's place, so rows stay contiguous.
    public func remove(ids: [Int]) {
        precondition(rowBias == nil, "a Euclidean index is built whole")
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
        search(queries, k: k, excluding: nil)
    }

    /// The k best per query row; `excluding(q)` names an item query q must not return (its own
    /// row, to evaluate a set leave-one-out against itself).
    public func search(_ queries: Tensor, k: Int, excluding: ((Int) -> Int?)?) -> [[SearchHit]] {
        var results: [[SearchHit]] = []
        results.reserveCapacity(queries.shape[0])
        search(queries, k: k, excluding: excluding) { _, hits in results.append(hits) }
        return results
    }

    /// The same, handing each query's hits to `each` in query order instead of keeping them all,
    /// so a large k (retrieval metrics rank whole classes) needs memory for one block of queries only.
    public func search(_ queries: Tensor, k: Int, excluding: ((Int) -> Int?)?, each: (Int, [SearchHit]) -> Void) {
        precondition(queries.shape.count == 2 && queries.shape[1] == dimension, "queries must be [Q, \(dimension)], got \(queries.shape)")
        let q = queries.shape[0]
        guard count > 0, k > 0 else {
            for i in 0..<q { each(i, []) }
            return
        }
        // A query that leaves one item out can return one fewer.
        let kept = min(k, excluding == nil ? count : count - 1)
        guard kept > 0 else {
            for i in 0..<q { each(i, []) }
            return
        }
        let skip = { (i: Int) -> Int? in excluding?(i).flatMap { self.rowOf[$0] } }
        if q == 1 {
            each(0, searchOne(queries.pointer, k: kept, skippingRow: skip(0)))
        } else {
            searchBatch(queries, k: kept, skip: skip, each: each)
        }
    }

    /// Row scores of a tile as ranked: plus the row bias when there is one, and the skipped row
    /// (when in the tile) at −∞ so it is never kept over a real score.
    @inline(__always)
    private func adjust(_ scores: UnsafeMutablePointer<Float>, count width: Int, firstRow: Int, skippingRow: Int?) {
        if let rowBias {
            rowBias.withUnsafeBufferPointer { bias in Elementwise.addScaled(bias.baseAddress! + firstRow, scale: 1, to: scores, count: width) }
        }
        if let row = skippingRow, row >= firstRow, row < firstRow + width { scores[row - firstRow] = -.infinity }
    }

    /// Scores a tile of rows at a time into a buffer that stays in the first-level cache, then feeds
    /// the heap from it: the kernel scores four rows per pass over the query.
    private func searchOne(_ query: UnsafePointer<Float>, k: Int, skippingRow: Int?) -> [SearchHit] {
        let d = dimension, n = count, tile = min(1024, n)
        var top = TopK(k: k)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: tile)
        defer { scores.deallocate() }
        vectors.withUnsafeBufferPointer { v in
            var first = 0
            while first < n {
                let width = min(tile, n - first)
                akin_dot_rows(query, v.baseAddress! + first * d, width, d, scores)
                adjust(scores, count: width, firstRow: first, skippingRow: skippingRow)
                top.offer(scores: scores, count: width, firstRow: first)
                first += width
            }
        }
        return top.sorted().map { SearchHit(index: rowIDs[$0.index], similarity: $0.similarity) }
    }

    /// Blocks of queries against tiles of rows, one GEMM each; the rows of a block then feed their
    /// heaps on all compute threads (the GEMM has its own).
    private func searchBatch(_ queries: Tensor, k: Int, skip: (Int) -> Int?, each: (Int, [SearchHit]) -> Void) {
        let q = queries.shape[0], n = count, d = dimension
        let block = min(queryBlock, q), tile = min(tileRows, n)
        let similarities = Tensor(shape: [block, tile])
        var tops = [TopK](repeating: TopK(k: k), count: block)
        var skipped = [Int?](repeating: nil, count: block)
        let threads = max(1, min(QueryBatch.threads, block / 16))
        vectors.withUnsafeBufferPointer { v in
            var start = 0
            while start < q {
                let rows = min(block, q - start)
                for i in 0..<rows {
                    tops[i].reset()
                    skipped[i] = skip(start + i)
                }
                var first = 0
                while first < n {
                    let width = min(tile, n - first)
                    gemm(transposeB: true, m: rows, n: width, k: d, a: queries.pointer + start * d,
                         b: v.baseAddress! + first * d, c: similarities.pointer)
                    if rowBias != nil || skipped.contains(where: { $0 != nil }) {
                        for i in 0..<rows { adjust(similarities.pointer + i * width, count: width, firstRow: first, skippingRow: skipped[i]) }
                    }
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
                    each(start + i, tops[i].sorted().map { SearchHit(index: rowIDs[$0.index], similarity: $0.similarity) })
                }
                start += rows
            }
        }
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
        guard ids.allSatisfy({ $0 >= 0 }) else { throw IndexFileError.malformed("a negative item id") }
        index.add(ids: ids, vectors: vectors)
        return index
    }
}

extension FlatIndex {
    /// Every vector of the gallery in an exact index: `akin search --exact` and `akin calibrate`.
    public convenience init(exactOf store: any GalleryStore) throws {
        let (ids, vectors, _) = try store.allVectors()
        self.init(dimension: store.info.dimension)
        add(ids: ids, vectors: vectors.pointer)
    }
}
