import Tensors

/// What one batch of triplets measured.
public struct TripletStatistics: Sendable, Equatable {
    public var loss: Float
    /// Fraction of triplets with a non-zero loss: those that still teach something.
    public var activeFraction: Float
    public var meanPositiveDistance: Float
    public var meanNegativeDistance: Float
    /// How many triplets the loss was taken over: the batch's, or those mined from it.
    public var triplets: Int = 0
}

/// mean over triplets of max(0, D(a, p) − D(a, n) + margin), on embeddings laid out as the
/// network saw them: B anchors, then B positives, then B negatives.
public struct TripletLoss: Sendable {
    public var margin: Float
    public var distance: Distance

    public init(margin: Float, distance: Distance) {
        self.margin = margin
        self.distance = distance
    }

    /// Returns the statistics and overwrites `gradient` ([3B, D]) with ∂loss/∂embeddings.
    public func evaluate(embeddings: Tensor, gradient: Tensor) -> TripletStatistics {
        precondition(embeddings.shape.count == 2 && embeddings.shape[0] % 3 == 0, "triplet embeddings must be [3B, D], got \(embeddings.shape)")
        precondition(gradient.shape == embeddings.shape)
        let b = embeddings.shape[0] / 3, d = embeddings.shape[1]
        gradient.fill(0)
        var total: Double = 0, active = 0, positive: Double = 0, negative: Double = 0
        let scale = 1 / Float(b)
        for i in 0..<b {
            let a = embeddings.pointer + i * d, p = embeddings.pointer + (b + i) * d, n = embeddings.pointer + (2 * b + i) * d
            let dap = distance.evaluate(a, p, count: d), dan = distance.evaluate(a, n, count: d)
            positive += Double(dap)
            negative += Double(dan)
            let violation = dap - dan + margin
            // A NaN would fail `> 0` and vanish from the mean; keep it so divergence is seen.
            if violation.isNaN { total = .nan }
            guard violation > 0 else { continue }
            total += Double(violation)
            active += 1
            let ga = gradient.pointer + i * d, gp = gradient.pointer + (b + i) * d, gn = gradient.pointer + (2 * b + i) * d
            distance.accumulateGradient(a, p, count: d, distance: dap, scale: scale, ga, gp)
            distance.accumulateGradient(a, n, count: d, distance: dan, scale: -scale, ga, gn)
        }
        let count = Double(b)
        return TripletStatistics(loss: Float(total / count), activeFraction: Float(Double(active) / count),
                                 meanPositiveDistance: Float(positive / count), meanNegativeDistance: Float(negative / count), triplets: b)
    }
}
