/// Picks the similarity threshold under which a query's best hit is reported as "no match", from
/// labelled validation queries: each query's best similarity and whether that best hit has the
/// query's class. At a threshold t a query is answered when its best similarity is ≥ t;
/// precision = answered correctly / answered, recall = answered correctly / queries whose class the
/// gallery holds (queries of other classes can only be answered wrongly or left unanswered, rightly).
public struct ThresholdCalibration: Sendable {
    public struct Query: Sendable {
        public var bestSimilarity: Float
        /// The best hit has the query's class.
        public var correct: Bool
        /// The gallery holds items of the query's class (else "no match" is the right answer).
        public var classInGallery: Bool

        public init(bestSimilarity: Float, correct: Bool, classInGallery: Bool = true) {
            self.bestSimilarity = bestSimilarity
            self.correct = correct
            self.classInGallery = classInGallery
        }
    }

    public struct Point: Sendable, Equatable {
        public var threshold: Float
        public var answered: Int
        public var correct: Int
        public var precision: Double
        public var recall: Double
        public var f1: Double { precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0 }
    }

    public enum Goal: Sendable, Equatable {
        /// The lowest threshold (most answers) whose precision reaches this.
        case precision(Double)
        case bestF1
    }

    /// One point per distinct best similarity, highest threshold first: the whole curve.
    public let curve: [Point]

    public init(_ queries: [Query]) {
        let sorted = queries.sorted { $0.bestSimilarity > $1.bestSimilarity }
        let findable = max(queries.filter(\.classInGallery).count, 1)
        var points: [Point] = [], answered = 0, correct = 0, i = 0
        while i < sorted.count {
            // Queries tied at a similarity are answered together.
            let t = sorted[i].bestSimilarity
            while i < sorted.count && sorted[i].bestSimilarity == t {
                answered += 1
                if sorted[i].correct { correct += 1 }
                i += 1
            }
            points.append(Point(threshold: t, answered: answered, correct: correct,
                                precision: Double(correct) / Double(answered), recall: Double(correct) / Double(findable)))
        }
        curve = points
    }

    /// The point the goal picks; nil when no threshold reaches the precision asked for.
    public func choose(_ goal: Goal) -> Point? {
        switch goal {
        case let .precision(target): return curve.last { $0.precision >= target }
        case .bestF1: return curve.max { $0.f1 < $1.f1 || ($0.f1 == $1.f1 && $0.threshold < $1.threshold) }
        }
    }

    /// About `rows` points spread evenly over the curve, plus `chosen`, highest threshold first: the table to print.
    public func table(rows: Int = 12, including chosen: Point? = nil) -> [Point] {
        guard !curve.isEmpty else { return [] }
        let step = max(1, curve.count / max(rows - 1, 1))
        var picked = Set(stride(from: 0, to: curve.count, by: step)).union([curve.count - 1])
        if let chosen, let at = curve.firstIndex(of: chosen) { picked.insert(at) }
        return picked.sorted().map { curve[$0] }
    }
}
