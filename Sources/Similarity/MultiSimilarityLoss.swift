import Foundation
import Tensors

/// Multi-similarity loss (Wang et al. 2019; pytorch-metric-learning's MultiSimilarityLoss with its
/// MultiSimilarityMiner), on cosine similarities s of unit embeddings. For each anchor i:
///   (1/α)·log(1 + Σ_p exp(−α(s_ip − base))) + (1/β)·log(1 + Σ_n exp(β(s_in − base))),
/// averaged over the batch. Unlike a triplet's hinge, every pair keeps a weight that grows with its
/// hardness, relative to the other pairs of its anchor, so learning does not stop when the batch
/// satisfies a margin. With `epsilon` the miner first keeps only the informative pairs: positives
/// less similar than the anchor's most similar negative + ε, negatives more similar than its least
/// similar positive − ε.
public struct MultiSimilarityLoss: Codable, Equatable, Sendable {
    public var alpha: Float
    public var beta: Float
    public var base: Float
    /// The miner's ε; nil takes every pair.
    public var epsilon: Float?

    public init(alpha: Float = 2, beta: Float = 50, base: Float = 0.5, epsilon: Float? = 0.1) {
        self.alpha = alpha
        self.beta = beta
        self.base = base
        self.epsilon = epsilon
    }

    /// Overwrites `gradient` ([B, D]) with ∂loss/∂embeddings. `activeFraction` is the share of the
    /// batch's pairs the miner kept; the mean distances are between unit vectors (0…2).
    public func evaluate(embeddings: Tensor, labels: [Int32], gradient: Tensor) -> TripletStatistics {
        let b = embeddings.shape[0], d = embeddings.shape[1]
        precondition(labels.count == b && gradient.shape == embeddings.shape)
        let e = NormalizedRows(embeddings.pointer, rows: b, columns: d)
        defer { e.release() }
        let similarities = e.similarities()
        // weights[i, j] = ∂loss/∂s_ij as anchor i sees the pair.
        var weights = [Float](repeating: 0, count: b * b)
        var total = 0.0, kept = 0, pairs = 0
        var positiveDistance = 0.0, negativeDistance = 0.0, positives = 0, negatives = 0
        let scale = 1 / Float(b)
        similarities.withUnsafeBufferPointer { s in
            weights.withUnsafeMutableBufferPointer { w in
                for i in 0..<b {
                    let row = i * b
                    var leastPositive = Float.infinity, mostNegative = -Float.infinity
                    for j in 0..<b where j != i {
                        let distance = Double((max(0, 2 - 2 * s[row + j])).squareRoot())
                        if labels[j] == labels[i] {
                            leastPositive = min(leastPositive, s[row + j])
                            positiveDistance += distance
                            positives += 1
                        } else {
                            mostNegative = max(mostNegative, s[row + j])
                            negativeDistance += distance
                            negatives += 1
                        }
                    }
                    pairs += b - 1
                    // Each side's log(1 + Σ exp(x)) is taken as m + log(e^−m + Σ exp(x − m)), m = max(0, max x).
                    for positive in [true, false] {
                        let sign: Float = positive ? -alpha : beta
                        func keeps(_ j: Int) -> Bool {
                            guard j != i, (labels[j] == labels[i]) == positive else { return false }
                            guard let epsilon else { return true }
                            return positive ? s[row + j] - epsilon < mostNegative : s[row + j] + epsilon > leastPositive
                        }
                        var top: Float = 0
                        for j in 0..<b where keeps(j) { top = max(top, sign * (s[row + j] - base)) }
                        var sum = expf(-top)
                        for j in 0..<b where keeps(j) {
                            let x = expf(sign * (s[row + j] - base) - top)
                            w[row + j] = x
                            sum += x
                            kept += 1
                        }
                        total += Double((top + logf(sum)) / abs(sign))
                        // ∂/∂s of (1/|sign|)·log(1 + Σ exp(sign·(s − base))) = ±exp(…)/(1 + Σ).
                        let factor = (positive ? -1 : 1) * scale / sum
                        for j in 0..<b where keeps(j) { w[row + j] *= factor }
                    }
                }
            }
        }
        e.backward(similarityGradient: &weights, into: gradient.pointer)
        return TripletStatistics(loss: Float(total / Double(b)), activeFraction: Float(kept) / Float(max(pairs, 1)),
                                 meanPositiveDistance: Float(positiveDistance / Double(max(positives, 1))),
                                 meanNegativeDistance: Float(negativeDistance / Double(max(negatives, 1))), triplets: kept)
    }
}
