import Networks
import Tensors

/// Σ wᵢ·lossᵢ over terms that each see the same batch, like pytorch-metric-learning's weighted
/// loss combinations: the first term's statistics describe the batch (its distances, its active
/// triplets), the loss is the weighted sum, and each term's gradient — and its own parameters'
/// gradients — are scaled by its weight.
public final class WeightedLossSum: MetricLoss {
    public struct Term {
        public var loss: any MetricLoss
        public var weight: Float
        /// Labels this term uses instead of the batch's: the instance-contrastive term's, where
        /// each image's two views share a label of their own.
        public var labels: [Int32]?

        public init(_ loss: any MetricLoss, weight: Float = 1, labels: [Int32]? = nil) {
            self.loss = loss
            self.weight = weight
            self.labels = labels
        }
    }

    public let terms: [Term]
    /// Each further term's gradient, before it is added with its weight.
    private var scratch: Tensor?

    /// At least one term.
    public init(_ terms: [Term]) {
        precondition(!terms.isEmpty, "a sum of no losses")
        self.terms = terms
    }

    public var parameters: [Parameter] { terms.flatMap(\.loss.parameters) }

    public func evaluate(embeddings: Tensor, labels: [Int32], gradient: Tensor) -> TripletStatistics {
        let first = terms[0]
        var statistics = first.loss.evaluate(embeddings: embeddings, labels: first.labels ?? labels, gradient: gradient)
        if first.weight != 1 {
            scale(gradient, first.weight)
            for parameter in first.loss.parameters { scale(parameter.gradient, first.weight) }
            statistics.loss *= first.weight
        }
        guard terms.count > 1 else { return statistics }
        if scratch?.shape != gradient.shape { scratch = Tensor(shape: gradient.shape) }
        let termGradient = scratch!
        for term in terms.dropFirst() {
            let extra = term.loss.evaluate(embeddings: embeddings, labels: term.labels ?? labels, gradient: termGradient)
            Elementwise.addScaled(termGradient.pointer, scale: term.weight, to: gradient.pointer, count: gradient.count)
            for parameter in term.loss.parameters { scale(parameter.gradient, term.weight) }
            statistics.loss += term.weight * extra.loss
        }
        return statistics
    }

    private func scale(_ tensor: Tensor, _ factor: Float) {
        for i in 0..<tensor.count { tensor[i] *= factor }
    }
}
