import Foundation
import Networks
import Tensors

/// Normalised softmax over class proxies (Zhai & Wu 2018; pytorch-metric-learning's
/// NormalizedSoftmaxLoss), with CosFace's additive margin when `margin` > 0: every training class
/// has a learned proxy vector, and each embedding is pulled toward its class's proxy and pushed from
/// the others, through logits cos(e, w_c)/T (minus the margin for the true class). It keeps pulling
/// same-class embeddings together after triplets would have stopped, which is what MAP@R rewards.
public struct ProxySoftmaxLoss {
    public var temperature: Float
    public var margin: Float
    /// [classes, D], trained with the network (not saved in the model file: search needs no proxies).
    public let proxies: Parameter

    public init(classes: Int, dimension: Int, temperature: Float, margin: Float, generator: inout RandomGenerator) {
        self.temperature = temperature
        self.margin = margin
        proxies = Parameter(name: "loss.proxies", value: Tensor(shape: [classes, dimension]))
        for i in 0..<proxies.value.count { proxies.value[i] = generator.nextGaussian() }
    }

    /// Mean cross-entropy over the batch. Overwrites `gradient` ([B, D]) and the proxies' gradient.
    /// `activeFraction` is the share of embeddings whose nearest proxy is another class's.
    public func evaluate(embeddings: Tensor, labels: [Int32], gradient: Tensor) -> TripletStatistics {
        let b = embeddings.shape[0], d = embeddings.shape[1], c = proxies.value.shape[0]
        precondition(labels.count == b && gradient.shape == embeddings.shape)
        let e = NormalizedRows(embeddings.pointer, rows: b, columns: d), w = NormalizedRows(proxies.value.pointer, rows: c, columns: d)
        defer { e.release(); w.release() }
        // cos[i, c] = ê_i · ŵ_c
        var cosines = [Float](repeating: 0, count: b * c)
        cosines.withUnsafeMutableBufferPointer { gemm(transposeB: true, m: b, n: c, k: d, a: e.unit, b: w.unit, c: $0.baseAddress!) }
        var total = 0.0, wrong = 0
        var dCos = [Float](repeating: 0, count: b * c)
        let scale = 1 / temperature
        for i in 0..<b {
            let y = Int(labels[i]), row = i * c
            var best = -Float.infinity
            for j in 0..<c {
                let z = (cosines[row + j] - (j == y ? margin : 0)) * scale
                dCos[row + j] = z
                best = max(best, z)
            }
            var sum: Float = 0
            for j in 0..<c { sum += expf(dCos[row + j] - best) }
            total += Double(logf(sum) + best - dCos[row + y])
            var nearest = 0
            for j in 0..<c where cosines[row + j] > cosines[row + nearest] { nearest = j }
            if nearest != y { wrong += 1 }
            // ∂loss/∂cos = (softmax − one-hot) / (T·B)
            for j in 0..<c { dCos[row + j] = (expf(dCos[row + j] - best) / sum - (j == y ? 1 : 0)) * scale / Float(b) }
        }
        dCos.withUnsafeBufferPointer { g in
            // ∂/∂ê = dCos · Ŵ, ∂/∂ŵ = dCosᵀ · Ê; then back through the normalisations.
            gemm(m: b, n: d, k: c, a: g.baseAddress!, b: w.unit, c: gradient.pointer)
            gemm(transposeA: true, m: c, n: d, k: b, a: g.baseAddress!, b: e.unit, c: proxies.gradient.pointer)
        }
        e.backward(gradient.pointer)
        w.backward(proxies.gradient.pointer)
        let pairs = PairwiseDistances(.l2, embeddings: embeddings)
        var positive = 0.0, negative = 0.0, positives = 0, negatives = 0
        for i in 0..<b { for j in (i + 1)..<b {
            if labels[i] == labels[j] { positive += Double(pairs[i, j]); positives += 1 } else { negative += Double(pairs[i, j]); negatives += 1 }
        } }
        return TripletStatistics(loss: Float(total / Double(b)), activeFraction: Float(wrong) / Float(b),
                                 meanPositiveDistance: Float(positive / Double(max(positives, 1))),
                                 meanNegativeDistance: Float(negative / Double(max(negatives, 1))), triplets: b)
    }
}
