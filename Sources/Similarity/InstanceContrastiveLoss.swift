import Foundation
import Tensors

/// NT-Xent (SimCLR; pytorch-metric-learning's NTXentLoss) over the batch's cosine similarities:
/// for every ordered positive pair (a, p), −log(e^{s_ap/τ} / (e^{s_ap/τ} + Σ_n e^{s_an/τ})) over
/// the negatives n of a, averaged over the positive pairs. Given instance labels (two augmented
/// views of each image share one), it asks the embedding to tell images apart, not only classes:
/// the detail it keeps for that is what classes never seen in training are told apart by.
public struct InstanceContrastiveLoss: Sendable {
    public var temperature: Float

    public init(temperature: Float = 0.1) {
        self.temperature = temperature
    }

    /// Overwrites `gradient` ([B, D]) with ∂loss/∂embeddings. `activeFraction` is the share of
    /// positive pairs whose positive is not the anchor's most similar image.
    public func evaluate(embeddings: Tensor, labels: [Int32], gradient: Tensor) -> TripletStatistics {
        let b = embeddings.shape[0], d = embeddings.shape[1]
        precondition(labels.count == b && gradient.shape == embeddings.shape)
        let e = NormalizedRows(embeddings.pointer, rows: b, columns: d)
        defer { e.release() }
        let similarities = e.similarities()
        var positivePairs = 0
        for i in 0..<b { for j in 0..<b where j != i && labels[j] == labels[i] { positivePairs += 1 } }
        var weights = [Float](repeating: 0, count: b * b)
        var total = 0.0, missed = 0
        var positiveDistance = 0.0, negativeDistance = 0.0, negatives = 0
        let scale = 1 / temperature, share = 1 / Float(max(positivePairs, 1))
        similarities.withUnsafeBufferPointer { s in
            weights.withUnsafeMutableBufferPointer { w in
                for i in 0..<b {
                    let row = i * b
                    // The negatives' part of every denominator of this anchor, shifted by its largest logit.
                    var top = -Float.infinity
                    for j in 0..<b where j != i { top = max(top, s[row + j] * scale) }
                    var negativeSum: Float = 0, mostSimilarNegative = -Float.infinity
                    for j in 0..<b where j != i && labels[j] != labels[i] {
                        negativeSum += expf(s[row + j] * scale - top)
                        mostSimilarNegative = max(mostSimilarNegative, s[row + j])
                        negativeDistance += Double(max(0, 2 - 2 * s[row + j]).squareRoot())
                        negatives += 1
                    }
                    for p in 0..<b where p != i && labels[p] == labels[i] {
                        let positive = expf(s[row + p] * scale - top), denominator = positive + negativeSum
                        total += Double(logf(denominator) - (s[row + p] * scale - top))
                        if s[row + p] <= mostSimilarNegative { missed += 1 }
                        positiveDistance += Double(max(0, 2 - 2 * s[row + p]).squareRoot())
                        // ∂/∂s_ap = (softmax_p − 1)/τ, ∂/∂s_an = softmax_n/τ, per positive pair.
                        w[row + p] += (positive / denominator - 1) * scale * share
                        for n in 0..<b where n != i && labels[n] != labels[i] {
                            w[row + n] += expf(s[row + n] * scale - top) / denominator * scale * share
                        }
                    }
                }
            }
        }
        e.backward(similarityGradient: &weights, into: gradient.pointer)
        return TripletStatistics(loss: Float(total) * share, activeFraction: Float(missed) * share,
                                 meanPositiveDistance: Float(positiveDistance / Double(max(positivePairs, 1))),
                                 meanNegativeDistance: Float(negativeDistance / Double(max(negatives, 1))), triplets: positivePairs)
    }
}
