import Tensors

/// Exact cosine search over L2-normalised vectors: similarities of a block of queries against the
/// whole gallery come from one BLAS matrix product, then a heap keeps each query's top k.
public struct ExactIndex {
    public let vectors: Tensor
    public var count: Int { vectors.shape[0] }
    public var dimension: Int { vectors.shape[1] }

    public init(vectors: Tensor) {
        precondition(vectors.shape.count == 2, "gallery vectors must be [N, D]")
        self.vectors = vectors
    }

    /// Top-k hits for each row of `queries` ([Q, D]). With `excludingSelf`, query i never
    /// returns gallery row i (leave-one-out evaluation of a set against itself).
    public func search(_ queries: Tensor, k: Int, excludingSelf: Bool = false, blockSize: Int = 256) -> [[SearchHit]] {
        var results: [[SearchHit]] = []
        results.reserveCapacity(queries.shape[0])
        search(queries, k: k, excludingSelf: excludingSelf, blockSize: blockSize) { _, hits in results.append(hits) }
        return results
    }

    /// The same, handing each query's hits (in query order) to `each` instead of keeping them all,
    /// so evaluating with a large k needs memory for one query's hits only.
    public func search(_ queries: Tensor, k: Int, excludingSelf: Bool = false, blockSize: Int = 256,
                       each: (Int, [SearchHit]) -> Void) {
        precondition(queries.shape.count == 2 && queries.shape[1] == dimension, "queries must be [Q, \(dimension)], got \(queries.shape)")
        let q = queries.shape[0], n = count
        guard n > 0 else {
            for i in 0..<q { each(i, []) }
            return
        }
        let block = max(1, min(blockSize, q))
        let similarities = Tensor(shape: [block, n])
        var top = TopK(k: min(k, n))
        var start = 0
        while start < q {
            let rows = min(block, q - start)
            gemm(transposeB: true, m: rows, n: n, k: dimension, a: queries.pointer + start * dimension,
                 b: vectors.pointer, c: similarities.pointer)
            for row in 0..<rows {
                top.reset()
                let s = similarities.pointer + row * n
                let own = excludingSelf ? start + row : -1
                for j in 0..<n where j != own { top.offer(SearchHit(index: j, similarity: s[j])) }
                each(start + row, top.sorted())
            }
            start += rows
        }
    }
}
