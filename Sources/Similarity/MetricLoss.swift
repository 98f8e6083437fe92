import Networks
import Tensors

/// A loss over a batch of embeddings, as pytorch-metric-learning's losses are: it overwrites
/// `gradient` ([B, D]) with ∂loss/∂embeddings, fills the gradients of its own learned parameters
/// (a proxy loss's class proxies) and returns the loss with statistics of the batch.
///
/// Losses compose: ``WeightedLossSum`` adds terms with weights (the triplet loss plus a proxy term,
/// plus an instance-contrastive term on two views). Which batches they see — random triplets or
/// P×K batches — is the sampler's choice (`TrainingOptions.makeLoss` and `makeSampler` pair them).
public protocol MetricLoss {
    /// Learned with the network; empty for losses that learn nothing.
    var parameters: [Parameter] { get }
    /// - Parameters:
    ///   - embeddings: [B, D], one row per image of the batch.
    ///   - labels: row i's class (ignored by `TripletLoss`, whose rows are laid out as triplets).
    ///   - gradient: [B, D], overwritten with ∂loss/∂embeddings.
    func evaluate(embeddings: Tensor, labels: [Int32], gradient: Tensor) -> TripletStatistics
}

extension MetricLoss {
    public var parameters: [Parameter] { [] }
}

extension TripletLoss: MetricLoss {
    /// The batch is B anchors, B positives and B negatives in that order: the labels are not needed.
    public func evaluate(embeddings: Tensor, labels: [Int32], gradient: Tensor) -> TripletStatistics {
        evaluate(embeddings: embeddings, gradient: gradient)
    }
}

extension MinedTripletLoss: MetricLoss {}
extension MultiSimilarityLoss: MetricLoss {}
extension InstanceContrastiveLoss: MetricLoss {}
extension ProxySoftmaxLoss: MetricLoss {
    public var parameters: [Parameter] { [proxies] }
}
