import Search
import Tensors

/// Retrieval quality over a set of queries.
public struct RetrievalReport: Codable, Equatable, Sendable {
    /// Fraction of queries whose nearest neighbour has their class.
    public var precisionAt1: Double
    /// Fraction of queries with at least one item of their class among the 10 nearest.
    public var recallAt10: Double
    /// Mean average precision at R (Musgrave, Belongie & Lim, 2020), R = the number of gallery items of the query's class.
    public var mapAtR: Double
    public var queries: Int

    public init(precisionAt1: Double, recallAt10: Double, mapAtR: Double, queries: Int) {
        self.precisionAt1 = precisionAt1
        self.recallAt10 = recallAt10
        self.mapAtR = mapAtR
        self.queries = queries
    }

    enum CodingKeys: String, CodingKey {
        case precisionAt1 = "precision_at_1", recallAt10 = "recall_at_10", mapAtR = "map_at_r", queries
    }
}

public enum RetrievalMetrics {
    /// Scores one query from the relevance of its ranked results (best first, at least R of them
    /// when there are that many) and R, the number of relevant gallery items.
    public static func score(relevance: [Bool], relevantCount r: Int) -> (precisionAt1: Double, recallAt10: Double, averagePrecisionAtR: Double) {
        let p1 = relevance.first == true ? 1.0 : 0.0
        let r10 = relevance.prefix(10).contains(true) ? 1.0 : 0.0
        guard r > 0 else { return (p1, r10, 0) }
        var hits = 0, sum = 0.0
        for (i, relevant) in relevance.prefix(r).enumerated() where relevant {
            hits += 1
            sum += Double(hits) / Double(i + 1)
        }
        return (p1, r10, sum / Double(r))
    }

    /// Queries search the gallery by exact cosine similarity; with `leaveOneOut` the queries are
    /// the gallery and each query's own row is left out. Queries whose class has no other gallery
    /// item are not counted.
    public static func evaluate(queries: Tensor, queryLabels: [Int], gallery: Tensor, galleryLabels: [Int],
                                leaveOneOut: Bool) -> RetrievalReport {
        var classSizes: [Int: Int] = [:]
        for label in galleryLabels { classSizes[label, default: 0] += 1 }
        let relevantCounts = queryLabels.map { (classSizes[$0] ?? 0) - (leaveOneOut ? 1 : 0) }
        let k = max(10, relevantCounts.max() ?? 0)
        var p1 = 0.0, r10 = 0.0, map = 0.0, counted = 0
        ExactIndex(vectors: gallery).search(queries, k: k, excludingSelf: leaveOneOut) { q, hits in
            guard relevantCounts[q] > 0 else { return }
            let relevance = hits.map { galleryLabels[$0.index] == queryLabels[q] }
            let s = score(relevance: relevance, relevantCount: relevantCounts[q])
            p1 += s.precisionAt1
            r10 += s.recallAt10
            map += s.averagePrecisionAtR
            counted += 1
        }
        let n = Double(max(counted, 1))
        return RetrievalReport(precisionAt1: p1 / n, recallAt10: r10 / n, mapAtR: map / n, queries: counted)
    }
}
