import Images
import Networks
import Tensors

extension TrainingOptions {
    /// The loss these options describe, as terms of a ``WeightedLossSum``: the main loss (triplets
    /// as formed by the random sampler, triplets mined from P×K batches, normalised softmax over
    /// class proxies, or multi-similarity), then the proxy term and the instance-contrastive term
    /// when their weights are above 0.
    /// - Parameters:
    ///   - classes: the classes a proxy loss keeps a proxy for.
    ///   - dimension: the size of the embeddings the loss sees.
    ///   - restored: learned loss parameters by name (a resumed run's proxies); fresh ones otherwise.
    public func makeLoss(classes: Int, dimension: Int, restored: [String: Tensor] = [:]) throws -> WeightedLossSum {
        // Its own generator, so adding the proxies changes no other random draw of the run.
        var proxyGenerator = RandomGenerator(seed: seed ^ 0x5052_4F58_5945_5321)
        func proxies() -> ProxySoftmaxLoss {
            let loss = ProxySoftmaxLoss(classes: classes, dimension: dimension, temperature: temperature, margin: proxyMargin,
                                        generator: &proxyGenerator)
            if let saved = restored[loss.proxies.name], saved.shape == loss.proxies.value.shape { loss.proxies.value.copy(from: saved) }
            return loss
        }
        let main: any MetricLoss = switch loss {
        case .normalizedSoftmax: proxies()
        case .multiSimilarity: multiSimilarity
        case .triplet where miner.minesBatches: MinedTripletLoss(margin: margin, distance: distance, mining: miner, softMargin: softMargin)
        case .triplet: TripletLoss(margin: margin, distance: distance)
        }
        var terms = [WeightedLossSum.Term(main)]
        if addsProxyTerm { terms.append(WeightedLossSum.Term(proxies(), weight: proxyWeight)) }
        if instanceWeight > 0 {
            guard twoViewsFit else { throw TrainingOptionsError.instanceViews(imagesPerClass: imagesPerClass) }
            // Each image's two views sit next to each other in the batch and share a label.
            terms.append(WeightedLossSum.Term(InstanceContrastiveLoss(temperature: instanceTemperature), weight: instanceWeight,
                                              labels: (0..<imagesPerStep).map { Int32($0 / 2) }))
        }
        return WeightedLossSum(terms)
    }

    /// Whether batches are P classes × K images (every loss but random triplets needs whole classes).
    public var samplesClasses: Bool { miner.minesBatches || loss != .triplet }

    /// The instance term's two views need P×K batches with an even K of at least 4.
    var twoViewsFit: Bool { imagesPerClass % 2 == 0 && imagesPerClass >= 4 && samplesClasses }
}
