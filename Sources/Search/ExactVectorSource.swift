import Tensors

/// Where a compressed index finds the exact vectors of its best candidates, to re-rank them: the
/// gallery store (on disk, so the index's resident memory stays its codes) or an in-memory `FlatIndex`.
public protocol ExactVectorSource: AnyObject {
    /// The vectors of `ids` as rows of [ids.count, dimension]; nil when one of them is no longer
    /// there. Throws when they cannot be read (the store's error).
    func exactVectors(ids: [Int]) throws -> Tensor?
}

extension FlatIndex: ExactVectorSource {
    public func exactVectors(ids: [Int]) throws -> Tensor? {
        let d = dimension
        let out = Tensor(shape: [ids.count, d])
        return vectors.withUnsafeBufferPointer { v in
            for (i, id) in ids.enumerated() {
                guard let row = row(of: id) else { return nil }
                (out.pointer + i * d).update(from: v.baseAddress! + row * d, count: d)
            }
            return out
        }
    }
}

/// An index that keeps approximate codes and re-ranks its best candidates with exact vectors.
public protocol CompressedIndex: VectorIndex {
    /// Where the exact vectors come from; without one, hits carry the approximate similarities.
    var exactSource: (any ExactVectorSource)? { get set }
    /// Bytes the index holds in memory (codes, ids, codebooks), the figure `--memory` budgets.
    var residentBytes: Int { get }
    /// Learns the quantiser from a sample (the gallery's vectors) before the first add.
    func train(_ vectors: UnsafePointer<Float>, count: Int)
    /// Why the last search could not re-rank with exact vectors (its hits then carry approximate
    /// similarities, which a calibrated threshold must not be compared with); nil when it could.
    var rerankFailure: RerankFailure? { get }
}

/// Why a compressed index's search fell back to approximate similarities.
public enum RerankFailure: Error, CustomStringConvertible {
    /// The source could not be read.
    case unreadable(any Error)
    /// A candidate left the gallery between the index's catch-up and the search.
    case vanished

    public var description: String {
        switch self {
        case let .unreadable(error): return "the exact vectors for re-ranking could not be read: \(error)"
        case .vanished: return "items left the gallery while it was searched; search again"
        }
    }
}

enum Reranking {
    /// Replaces each query's approximate candidates (item ids, best first) by their exact top k.
    /// One read of the source per block of queries, for the distinct ids of the block. Without a
    /// source the approximate order and scores stand; when the source cannot give the vectors they
    /// stand too, and `failure` says why (the caller must not pass them off as exact).
    static func rerank(_ queries: Tensor, candidates: [[SearchHit]], k: Int, source: (any ExactVectorSource)?,
                       failure: inout RerankFailure?) -> [[SearchHit]] {
        failure = nil
        guard let source else { return candidates.map { Array($0.prefix(k)) } }
        let d = queries.shape[1], block = 256
        var results: [[SearchHit]] = []
        results.reserveCapacity(candidates.count)
        var start = 0
        while start < candidates.count {
            let end = min(start + block, candidates.count)
            var rowOf: [Int: Int] = [:], ids: [Int] = []
            for hits in candidates[start..<end] {
                for hit in hits where rowOf[hit.index] == nil {
                    rowOf[hit.index] = ids.count
                    ids.append(hit.index)
                }
            }
            let exact: Tensor
            do {
                guard let found = try source.exactVectors(ids: ids) else { throw RerankFailure.vanished }
                exact = found
            } catch {
                failure = error as? RerankFailure ?? .unreadable(error)
                results.append(contentsOf: candidates[start..<end].map { Array($0.prefix(k)) })
                start = end
                continue
            }
            for q in start..<end {
                var top = TopK(k: min(k, candidates[q].count))
                let query = queries.pointer + q * d
                for hit in candidates[q] {
                    top.offer(SearchHit(index: hit.index, similarity: VectorMath.dot(query, exact.pointer + rowOf[hit.index]! * d, count: d)))
                }
                results.append(top.sorted())
            }
            start = end
        }
        return results
    }
}
