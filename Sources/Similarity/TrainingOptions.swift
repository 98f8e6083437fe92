import Foundation
import Images
import Networks

public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case sgd, adam, adamw }
public enum BackboneKind: String, Codable, Sendable, CaseIterable { case seed, resnet }
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable { case constant, cosine }

/// How a batch's triplets are chosen: `random` is the seed's (each triplet drawn on its own by
/// `TripletSampler`); the others draw P classes × K images (`PKSampler`) and `MinedTripletLoss`
/// mines the batch's distance matrix (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet
/// Loss"; Schroff et al. 2015, FaceNet). A triplet is (a, p, n): a ≠ p of one class, n of another.
///
/// Every mining reduces like pytorch-metric-learning's TripletMarginLoss with its default
/// AvgNonZeroReducer: the mean over the mined triplets whose hinge loss max(0, D_ap − D_an + m) is
/// non-zero, and 0 when none is. With a soft margin the loss softplus(D_ap − D_an) is never zero, so
/// it is the mean over all mined triplets.
public enum MinerKind: String, Codable, Sendable, CaseIterable {
    /// Each triplet drawn at random, on its own: the seed's.
    case random
    /// Batch-all: every triplet of the batch.
    case all
    /// Batch-hard: one triplet per anchor, its farthest positive and its nearest negative
    /// (pytorch-metric-learning's BatchHardMiner).
    case hard
    /// Semi-hard: one triplet per (a, p) pair, with the nearest negative farther than p (D_an > D_ap),
    /// or, when no negative is farther, the nearest negative of all.
    case semiHard = "semi-hard"

    /// The miners that mine a P×K batch's distance matrix (all but `random`).
    public static let batchMiners: [MinerKind] = [.all, .hard, .semiHard]

    /// Whether the miner mines a P×K batch (`MinedTripletLoss`) rather than drawing triplets itself.
    public var minesBatches: Bool { self != .random }
}

/// What the batch's embeddings are scored by: triplets (formed at random or mined), or a
/// normalised softmax over learned class proxies.
public enum LossKind: String, Codable, Sendable, CaseIterable {
    case triplet
    case normalizedSoftmax = "normalized-softmax"
    case multiSimilarity = "multi-similarity"
}

/// Options that cannot train together.
public enum TrainingOptionsError: Error, CustomStringConvertible, Equatable {
    case instanceViews(imagesPerClass: Int)
    case frozenBackboneAugmentation
    case backboneScaleWithoutBackbone

    public var description: String {
        switch self {
        case let .instanceViews(k):
            return "--instance-weight needs P×K batches with an even --images-per-class of at least 4 (each class's K images are K/2 images seen twice); "
                + "it is \(k)\(k % 2 == 1 ? ": make it even" : ""), or the miner is the seed's random triplets: pick --miner all, hard or semi-hard"
        case .frozenBackboneAugmentation:
            return "--freeze-backbone computes each image's features once, so augmentation cannot apply: drop the augmentation options (or pass --no-augment), or fine-tune the whole network"
        case .backboneScaleWithoutBackbone:
            return "--backbone-lr-scale applies to a pretrained backbone being fine-tuned: use it with --init-from and without --freeze-backbone"
        }
    }
}

/// Fine-tuning a network trained elsewhere (`akin import onnx`) instead of training from scratch:
/// its layers before any head, a new projection head, its preprocessing.
public struct PretrainedBackbone: Codable, Equatable, Sendable {
    /// The model file it came from, and its fingerprint, so a resumed run refuses other weights.
    public var path: String
    public var fingerprint: String
    /// Train the head only, on features the backbone computes once per image (no augmentation).
    public var freeze: Bool
    /// The backbone's learning rate relative to the head's (PyTorch's parameter groups); 1 trains both alike.
    public var learningRateScale: Float

    public init(path: String, fingerprint: String, freeze: Bool = false, learningRateScale: Float = 1) {
        self.path = path
        self.fingerprint = fingerprint
        self.freeze = freeze
        self.learningRateScale = learningRateScale
    }
}

/// How a pretrained backbone is fine-tuned end to end unless told otherwise. Chosen by measurement
/// on classes held out of training (`bench/pretrained.sh`: ImageNet EfficientNet-Lite0 on 23 held-out
/// classes of drawings): there the untrained pooled features score MAP@R 0.519, ten passes at a
/// fiftieth of the head's rate embedding with the fine-tuned pooled features 0.631, while the new
/// head, faster backbone rates or fifty passes overfit a few hundred images and fall below 0.55.
public enum FineTuningDefaults {
    /// The backbone's learning rate relative to the head's.
    public static let backboneLearningRateScale: Float = 0.02
    /// The model embeds with the fine-tuned pooled features under the head the loss trains.
    public static let embeddingSource = EmbeddingSource.features
    /// Passes over the training images.
    public static let epochs = 10

    /// Steps for `epochs` passes over `images` images at `imagesPerStep` a step; at least 20.
    public static func steps(images: Int, imagesPerStep: Int) -> Int {
        max(20, (epochs * images + imagesPerStep - 1) / max(1, imagesPerStep))
    }
}

extension TrainingOptions {
    /// A fine-tune given no step count: `FineTuningDefaults.epochs` passes over `trainingImages` (the
    /// images left for training once validation has taken its share) with this run's batches, and
    /// the warm-up kept to a tenth of that unless `warmup` is given. Call it once every other
    /// option is settled, since the batch size depends on the miner and loss.
    public mutating func takeFineTuningLength(trainingImages: Int, warmup: Int?) {
        steps = FineTuningDefaults.steps(images: trainingImages, imagesPerStep: imagesPerStep)
        warmupSteps = warmup ?? min(TrainingOptions(recipe: recipe).warmupSteps, steps / 10)
    }
}

/// A named set of defaults: `seed` reproduces the seed article, `default` is the recommended one.
public enum Recipe: String, Codable, Sendable, CaseIterable {
    case `default`, seed
}

/// Everything that defines a training run.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var recipe = Recipe.seed
    public var steps = 2000
    /// Triplets per step with the random miner (the network sees 3× as many images).
    public var batch = 512
    /// P×K batches for the mining miners.
    public var classesPerBatch = 10
    public var imagesPerClass = 16

    public var backbone = BackboneKind.seed
    public var widths = [32, 64, 128]
    public var blocks = [1, 1, 1]
    public var embeddingDimension = 28
    /// Unit-length embeddings before the loss (always so for the cosine distance).
    public var normalize = false
    /// Which output the model embeds with: the head the loss trains, or the ResNet's pooled features under it.
    public var embeddingSource = EmbeddingSource.head

    public var loss = LossKind.triplet
    /// Normalised softmax: logits are cosines divided by this.
    public var temperature: Float = 0.05
    /// Normalised softmax: CosFace's additive margin on the true class's cosine (0: none).
    public var proxyMargin: Float = 0
    /// Multi-similarity: the pair weights α and β, the similarity they pivot on, and the miner's ε.
    public var multiSimilarity = MultiSimilarityLoss()
    /// Weight of the instance-contrastive (NT-Xent) term beside the main loss; above 0, each class's K
    /// images in a batch are K/2 images seen twice, through two different augmentations.
    public var instanceWeight: Float = 0
    public var instanceTemperature: Float = 0.1
    /// Weight of a normalised-softmax term over learned class proxies beside the triplet or
    /// multi-similarity loss (person re-identification's triplet + ID loss); 0: off.
    public var proxyWeight: Float = 0
    /// Whether the proxy term is added beside the main loss (with `--loss normalized-softmax` it is the loss).
    public var addsProxyTerm: Bool { proxyWeight > 0 && loss != .normalizedSoftmax }
    public var margin: Float = 0.5
    public var distance: Distance = .l2
    public var miner = MinerKind.random
    /// softplus(D(a,p) − D(a,n)) instead of the hinge with a margin.
    public var softMargin = false

    public var optimizer: OptimizerKind = .sgd
    public var learningRate: Float = 0.01
    public var momentum: Float = 0.99
    public var nesterov = true
    public var weightDecay: Float = 0
    public var warmupSteps = 0
    public var schedule = LearningRateSchedule.constant

    public var augmentation = Augmentation.none
    public var imageSize = 28
    public var channels = 1
    public var checkpointEvery = 50
    public var seed: UInt64 = 0
    /// nil: from scratch. Optional so that checkpoints written before it existed still read.
    public var pretrained: PretrainedBackbone?

    /// The seed article's recipe.
    public init() {}

    public init(recipe: Recipe) {
        self.init()
        guard recipe == .default else { return }
        self.recipe = .default
        steps = 2000
        backbone = .resnet
        embeddingDimension = 64
        normalize = true
        margin = 0.2
        miner = .all
        classesPerBatch = 10
        imagesPerClass = 16
        optimizer = .adamw
        // Fashion-MNIST, 2000 steps (P@1 / MAP@R): 1e-3 0.898 / 0.774, 3e-3 0.906 / 0.798, 6e-3 0.905 / 0.806,
        // 1e-2 0.902 / 0.806.
        learningRate = 6e-3
        weightDecay = 1e-4
        warmupSteps = 100
        schedule = .cosine
        // No augmentation: 2000 steps are five epochs, too few to overfit (train and test P@1 within 2 points),
        // and random shifts of 2 pixels cost P@1 0.910 → 0.905 and MAP@R 0.826 → 0.806 at lr 6e-3.
        augmentation = .none
        checkpointEvery = 100
    }

    /// Images the network sees in one step.
    public var imagesPerStep: Int { miner == .random && loss == .triplet ? 3 * batch : classesPerBatch * imagesPerClass }

    /// A new head on `backbone`'s layers (before its own head, if it has one), at this run's image size.
    public func architecture(on backbone: Architecture) -> Architecture {
        var layers = backbone.layersBeforeHead + [.dense(units: embeddingDimension)]
        if normalize || distance == .cosine { layers.append(.l2Normalize) }
        return Architecture(name: backbone.name + " + head", inputChannels: backbone.inputChannels, inputSize: imageSize, layers: layers,
                            embeddingSource: embeddingSource == .head ? nil : embeddingSource)
    }

    public var architecture: Architecture {
        switch backbone {
        case .seed:
            var seed = Architecture.seed(channels: channels, imageSize: imageSize, embeddingDimension: embeddingDimension)
            if normalize || distance == .cosine { seed.layers.append(.l2Normalize) }
            return seed
        case .resnet:
            var residual = Architecture.residual(channels: channels, imageSize: imageSize, widths: widths, blocks: blocks,
                                                 embeddingDimension: embeddingDimension, normalize: normalize || distance == .cosine)
            // nil, not .head, so that models trained before the choice existed keep their fingerprints.
            if embeddingSource != .head { residual.embeddingSource = embeddingSource }
            return residual
        }
    }

    /// Linear warm-up from lr/W at step 1 to lr at step W, then constant or half a cosine down
    /// to 0 at the last step.
    public func learningRate(atStep step: Int) -> Float {
        if warmupSteps > 0 && step <= warmupSteps { return learningRate * Float(step) / Float(warmupSteps) }
        guard schedule == .cosine else { return learningRate }
        let progress = Double(step - warmupSteps) / Double(max(1, steps - warmupSteps))
        return learningRate * Float(0.5 * (1 + cos(Double.pi * min(1, progress))))
    }

    /// Options that must not change when a run is resumed: all but the number of steps (and the
    /// warm-up, which the command line scales with them), the checkpoint interval and the learning
    /// rate (lowering it is the cure for a diverged run).
    func compatibilityKey() -> TrainingOptions {
        var key = self
        key.steps = 0
        key.warmupSteps = 0
        key.checkpointEvery = 0
        key.learningRate = 0
        // The fingerprint identifies the backbone's weights; the path it was read from may change.
        key.pretrained?.path = ""
        return key
    }

    /// "margin: 0.5 in the checkpoint, 0.2 now" for each option that differs.
    func differences(from other: TrainingOptions) -> [String] {
        let mine = Mirror(reflecting: compatibilityKey()).children, theirs = Mirror(reflecting: other.compatibilityKey()).children
        return zip(mine, theirs).compactMap { a, b in
            let x = "\(a.value)", y = "\(b.value)"
            return x == y ? nil : "\(a.label ?? "?"): \(y) in the checkpoint, \(x) now"
        }
    }

    func makeOptimizer() -> Optimizer {
        switch optimizer {
        case .sgd: return SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov)
        case .adam: return Adam(learningRate: learningRate)
        case .adamw: return Adam(learningRate: learningRate, weightDecay: weightDecay)
        }
    }
}
