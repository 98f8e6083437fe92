import Search
import Tensors

/// Each point's k nearest others by Euclidean distance, exactly (t-SNE's input affinities).
public struct NearestNeighbours: Sendable {
    public let k: Int
    /// Row i's neighbours, nearest first: indices[i*k ..< (i+1)*k].
    public var indices: [Int32]
    /// Their squared distances, in the same order.
    public var squaredDistances: [Float]

    /// Exact: `FlatIndex`'s brute-force search ranked by Euclidean distance (`init(euclideanRows:)`),
    /// each row leaving itself out. `blockSize`: queries per matrix product (results do not depend on it).
    public static func compute(_ x: Tensor, k: Int, blockSize: Int = 256) -> NearestNeighbours {
        let n = x.shape[0], d = x.shape[1]
        precondition(k >= 1 && k < n, "k must be in 1..<N")
        let index = FlatIndex(euclideanRows: x)
        index.queryBlock = blockSize
        var indices = [Int32](repeating: 0, count: n * k)
        var distances = [Float](repeating: 0, count: n * k)
        index.search(x, k: k, excluding: { $0 }) { i, hits in
            // A hit's score s is (‖x‖² − ‖x − y‖²)/2.
            let squaredNorm = Elementwise.dot(x.pointer + i * d, x.pointer + i * d, count: d)
            for (j, hit) in hits.enumerated() {
                indices[i * k + j] = Int32(hit.index)
                distances[i * k + j] = max(squaredNorm - 2 * hit.similarity, 0)
            }
        }
        return NearestNeighbours(k: k, indices: indices, squaredDistances: distances)
    }
}
