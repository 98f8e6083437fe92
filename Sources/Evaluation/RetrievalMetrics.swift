import Search
import Tensors

/// Retrieval quality over a set of queries, with pytorch-metric-learning's `AccuracyCalculator`
/// definitions (its default: every query weighs the same).
public struct RetrievalReport: Codable, Equatable, Sendable {
    /// Fraction of queries whose nearest neighbour has their class.
    public var precisionAt1: Double
    /// Fraction of queries with at least one item of their class among the 10 nearest.
    public var recallAt10: Double
    /// Mean over queries of the fraction of their R nearest that have their class, R = the number
    /// of gallery items of the query's class (itself left out).
    public var rPrecision: Double
    /// Mean average precision at R (Musgrave, Belongie & Lim, 2020), R as for R-Precision.
    public var mapAtR: Double
    /// Normalized mutual information between the classes of all the queries and their k-means
    /// clusters, k = the number of those classes.
    public var nmi: Double
    /// Queries counted: those with at least one other gallery item of their class.
    public var queries: Int
    /// The counted queries class by class, in label order.
    public var perClass: [ClassRetrievalReport]

    public init(precisionAt1: Double, recallAt10: Double, rPrecision: Double, mapAtR: Double, nmi: Double, queries: Int,
                perClass: [ClassRetrievalReport] = []) {
        self.precisionAt1 = precisionAt1
        self.recallAt10 = recallAt10
        self.rPrecision = rPrecision
        self.mapAtR = mapAtR
        self.nmi = nmi
        self.queries = queries
        self.perClass = perClass
    }

    enum CodingKeys: String, CodingKey {
        case precisionAt1 = "precision_at_1", recallAt10 = "recall_at_10", rPrecision = "r_precision", mapAtR = "map_at_r"
        case nmi, queries, perClass = "per_class"
    }
}

/// One class's queries: their Precision@1 and MAP@R.
public struct ClassRetrievalReport: Codable, Equatable, Sendable {
    public var className: String
    public var queries: Int
    public var precisionAt1: Double
    public var mapAtR: Double

    public init(className: String, queries: Int, precisionAt1: Double, mapAtR: Double) {
        self.className = className
        self.queries = queries
        self.precisionAt1 = precisionAt1
        self.mapAtR = mapAtR
    }

    enum CodingKeys: String, CodingKey {
        case className = "class", queries, precisionAt1 = "precision_at_1", mapAtR = "map_at_r"
    }
}

/// One query's scores.
public struct QueryScore: Equatable, Sendable {
    public var precisionAt1: Double
    public var recallAt10: Double
    public var rPrecision: Double
    public var averagePrecisionAtR: Double
}

public enum RetrievalMetrics {
    /// Scores one query from the relevance of its ranked results (best first, at least R of them
    /// when there are that many) and R, the number of relevant gallery items. R-Precision and
    /// AP@R come from the same walk over the first R ranks.
    public static func score(relevance: [Bool], relevantCount r: Int) -> QueryScore {
        let p1 = relevance.first == true ? 1.0 : 0.0
        let r10 = relevance.prefix(10).contains(true) ? 1.0 : 0.0
        guard r > 0 else { return QueryScore(precisionAt1: p1, recallAt10: r10, rPrecision: 0, averagePrecisionAtR: 0) }
        var hits = 0, sum = 0.0
        for (i, relevant) in relevance.prefix(r).enumerated() where relevant {
            hits += 1
            sum += Double(hits) / Double(i + 1)
        }
        return QueryScore(precisionAt1: p1, recallAt10: r10, rPrecision: Double(hits) / Double(r), averagePrecisionAtR: sum / Double(r))
    }

    /// Queries search the gallery by exact cosine similarity; with `leaveOneOut` the queries are
    /// the gallery and each query's own row is left out. Queries whose class has no other gallery
    /// item are not counted (pytorch-metric-learning's "lone" queries). Every query, counted or
    /// not, is clustered for NMI, as `AccuracyCalculator` clusters its whole query set.
    /// `classNames[label]` names the classes in `perClass` (the label number when absent);
    /// `clusteringSeed` seeds k-means.
    public static func evaluate(queries: Tensor, queryLabels: [Int], gallery: Tensor, galleryLabels: [Int],
                                leaveOneOut: Bool, classNames: [String]? = nil, clusteringSeed: UInt64 = 0) -> RetrievalReport {
        precondition(queries.shape.count == 2 && queries.shape[0] == queryLabels.count, "one label per query row")
        precondition(gallery.shape.count == 2 && gallery.shape[0] == galleryLabels.count, "one label per gallery row")
        var classSizes: [Int: Int] = [:]
        for label in galleryLabels { classSizes[label, default: 0] += 1 }
        let relevantCounts = queryLabels.map { (classSizes[$0] ?? 0) - (leaveOneOut ? 1 : 0) }
        let k = max(10, relevantCounts.max() ?? 0)
        var total = ScoreSum()
        var byClass: [Int: ScoreSum] = [:]
        FlatIndex(rows: gallery).search(queries, k: k, excluding: leaveOneOut ? { $0 } : nil) { q, hits in
            guard relevantCounts[q] > 0 else { return }
            let relevance = hits.map { galleryLabels[$0.index] == queryLabels[q] }
            let s = score(relevance: relevance, relevantCount: relevantCounts[q])
            total.add(s)
            byClass[queryLabels[q], default: ScoreSum()].add(s)
        }
        let perClass = byClass.keys.sorted().map { label in
            let sum = byClass[label]!
            return ClassRetrievalReport(className: classNames.map { $0[label] } ?? String(label), queries: sum.count,
                                        precisionAt1: sum.precisionAt1 / Double(sum.count), mapAtR: sum.mapAtR / Double(sum.count))
        }
        let n = Double(max(total.count, 1))
        return RetrievalReport(precisionAt1: total.precisionAt1 / n, recallAt10: total.recallAt10 / n, rPrecision: total.rPrecision / n,
                               mapAtR: total.mapAtR / n, nmi: clusteringNMI(vectors: queries, labels: queryLabels, seed: clusteringSeed),
                               queries: total.count, perClass: perClass)
    }

    /// NMI between `labels` and a k-means clustering of `vectors` (as given: Euclidean k-means,
    /// on unit-length rows when they come from a model or the pixel baseline) with k = the number
    /// of distinct labels. 0 for no vectors.
    public static func clusteringNMI(vectors: Tensor, labels: [Int], seed: UInt64 = 0) -> Double {
        precondition(vectors.shape.count == 2 && vectors.shape[0] == labels.count, "one label per vector")
        guard !labels.isEmpty else { return 0 }
        let clusters = KMeans(clusters: Set(labels).count, seed: seed).fit(vectors).assignments
        return MutualInformation.normalizedMutualInformation(labels, clusters)
    }

    private struct ScoreSum {
        var precisionAt1 = 0.0, recallAt10 = 0.0, rPrecision = 0.0, mapAtR = 0.0, count = 0

        mutating func add(_ s: QueryScore) {
            precisionAt1 += s.precisionAt1
            recallAt10 += s.recallAt10
            rPrecision += s.rPrecision
            mapAtR += s.averagePrecisionAtR
            count += 1
        }
    }
}
