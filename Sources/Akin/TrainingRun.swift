/// A training run described as a user gives it — a folder of `<class>/<image>`, a recipe, the
/// options they set — and resolved against the data into the `TrainingOptions` actually used.
///
/// The rules that depend on the data live here, once, for `akin train` and Swift programs alike:
/// the channel count (gray when every sampled image is), the image size (28, or a pretrained
/// model's), the warm-up kept to a tenth of a short run, classes per batch cut to the classes
/// there are, a validation holdout by image or by class, and a fine-tune's length and embedding.
///
/// ```swift
/// var run = TrainingRun(dataFolder: "train/")
/// run.steps = 500
/// let prepared = try run.prepare()
/// let model = try prepared.makeTrainer().run()
/// ```
public struct TrainingRun {
    /// What is held out of training to validate on.
    public enum Holdout: Sendable, Equatable {
        /// About this fraction of each class of 4 or more images (in (0, 1)).
        case fraction(Double)
        /// This many whole classes, to measure classes never seen in training.
        case classes(Int)
    }

    /// A pretrained model (from `akin import onnx`) to fine-tune instead of training from scratch.
    public struct Pretrained {
        public var path: String
        public var model: EmbeddingModel
        /// Train the new head only, on features the backbone computes once per image.
        public var freeze = false
        /// The backbone's learning rate relative to the head's (default `FineTuningDefaults.backboneLearningRateScale`).
        public var learningRateScale: Float?

        public init(path: String, model: EmbeddingModel, freeze: Bool = false, learningRateScale: Float? = nil) {
            self.path = path
            self.model = model
            self.freeze = freeze
            self.learningRateScale = learningRateScale
        }
    }

    public var dataFolder: String
    public var recipe: Recipe
    /// The caller's changes to the recipe's options (network, loss, miner, optimizer, augmentation…).
    /// The fields below are resolved after it, against the data.
    public var customize: (inout TrainingOptions) throws -> Void = { _ in }
    /// Steps (default: the recipe's; a fine-tune: `FineTuningDefaults.epochs` passes over the training images).
    public var steps: Int?
    /// Warm-up steps (default: the recipe's, at most a tenth of the run).
    public var warmupSteps: Int?
    /// 1 or 3 (default: a pretrained model's, else 1 when every sampled image is gray).
    public var channels: Int?
    /// Images are resized to size × size (default: a pretrained model's input size, else 28).
    public var imageSize: Int?
    /// What the model embeds with (default: the recipe's; a fine-tune: `FineTuningDefaults.embeddingSource`).
    public var embeddingSource: EmbeddingSource?
    public var pretrained: Pretrained?
    public var holdout: Holdout?
    /// Validate every this many steps (and at the end) when holding out.
    public var validateEvery = 200
    /// Stop after this many validations without a better MAP@R.
    public var patience: Int?
    /// Seed of initialisation, sampling, augmentation and the holdout.
    public var seed: UInt64 = 0
    /// The processes to train with, data-parallel (`MPIGroup.join()` under `mpirun`); nil trains
    /// in this process alone. Every process runs the same `TrainingRun` on the same data: each
    /// draws the same global batches and runs the network on its share, and only process 0 writes
    /// the checkpoint. Validation is refused (train, then `akin eval`).
    public var group: (any DataParallelGroup)?

    public init(dataFolder: String, recipe: Recipe = .default) {
        self.dataFolder = dataFolder
        self.recipe = recipe
    }

    /// Whether the whole pretrained network trains (not only a head on frozen features).
    var fineTuning: Bool { pretrained.map { !$0.freeze } ?? false }

    /// Lists and decodes the data (bad files noted and skipped), splits off the holdout and settles
    /// every option. Throws before any decoding when the folder's shape is wrong.
    public func prepare(reporter: any WorkReporter = SilentReporter()) throws -> PreparedTraining {
        if group != nil && holdout != nil {
            throw DataParallelError.unsupported(option: "--val-split and --val-classes",
                                                reason: "validation runs in one process; train, then score the model with `akin eval`")
        }
        if let pretrained, pretrained.freeze {
            if embeddingSource == .features { throw TrainingRunError.frozenFeatures(path: pretrained.path) }
            if pretrained.learningRateScale != nil { throw TrainingRunError.frozenRate }
        }
        if let pretrained, let channels, channels != pretrained.model.preprocessing.channels {
            throw TrainingRunError.channelsDiffer(path: pretrained.path, takes: pretrained.model.preprocessing.channels, asked: channels)
        }
        let folders = try ClassFolders.scan(dataFolder)
        let channelCount = pretrained?.model.preprocessing.channels ?? channels ?? ChannelDetection.channels(of: folders)
        let size = imageSize ?? pretrained?.model.architecture.inputSize ?? 28
        reporter.note("\(folders.files.count) images in \(folders.classNames.count) classes; \(channelCount) channel\(channelCount == 1 ? "" : "s"), \(size)×\(size)")
        let all = ImageSet.load(folders.files, classNames: folders.classNames, imageSize: size, channels: channelCount,
                                centerCrop: pretrained?.model.preprocessing.centerCrop, reporter: reporter)
        try all.requireTrainable(root: dataFolder)
        var options = try self.options(channels: channelCount, imageSize: size)

        var images = all, held: ImageSet?, heldOut: [String]?
        switch holdout {
        case nil: break
        case let .fraction(fraction):
            (images, held) = all.splitByImage(fraction: fraction, seed: seed)
            guard held!.count >= 2 else { throw TrainingRunError.holdoutTooSmall(fraction: fraction) }
            reporter.note("validation: \(held!.count) images held out (about \(Int((fraction * 100).rounded()))% of each class of 4 or more)")
        case let .classes(count):
            guard count >= 1, count <= all.classNames.count - 2 else {
                throw TrainingRunError.tooManyHeldOutClasses(count, classes: all.classNames.count)
            }
            let split = all.splitByClass(count: count, seed: seed)
            (images, held, heldOut) = (split.training, split.validation, split.heldOut)
            reporter.note("validation: \(held!.count) images of held-out classes \(split.heldOut.joined(separator: ", "))")
        }
        if options.miner != .random || options.loss != .triplet {
            let trainable = Set(images.labels).count
            if options.classesPerBatch > trainable {
                reporter.note("only \(trainable) classes to train on: \(trainable) classes per batch instead of \(options.classesPerBatch)")
                options.classesPerBatch = trainable
            }
        }
        if fineTuning && steps == nil { options.takeFineTuningLength(trainingImages: images.count, warmup: warmupSteps) }
        return PreparedTraining(options: options, images: images, validationImages: held, heldOutClasses: heldOut,
                                backbone: pretrained?.model, validateEvery: validateEvery, patience: patience, group: group)
    }

    /// The recipe's options, the caller's changes, then the fields resolved here.
    func options(channels: Int, imageSize: Int) throws -> TrainingOptions {
        var o = TrainingOptions(recipe: recipe)
        if fineTuning { o.embeddingSource = FineTuningDefaults.embeddingSource }
        try customize(&o)
        if let steps { o.steps = steps }
        if let embeddingSource { o.embeddingSource = embeddingSource }
        // A short run keeps its warm-up to a tenth of it, unless told otherwise.
        o.warmupSteps = warmupSteps ?? min(o.warmupSteps, o.steps / 10)
        o.imageSize = imageSize
        o.channels = channels
        o.seed = seed
        if let pretrained {
            o.pretrained = PretrainedBackbone(path: pretrained.path, fingerprint: pretrained.model.fingerprint, freeze: pretrained.freeze,
                                              learningRateScale: pretrained.freeze ? 1 : pretrained.learningRateScale ?? FineTuningDefaults.backboneLearningRateScale)
        }
        return o
    }
}

/// A run ready to train: its options settled, its images decoded and split.
public struct PreparedTraining {
    public var options: TrainingOptions
    /// The images trained on.
    public var images: ImageSet
    /// The held-out images validated on; nil without a holdout.
    public var validationImages: ImageSet?
    /// The classes held out whole (``TrainingRun/Holdout/classes(_:)``).
    public var heldOutClasses: [String]?
    public var backbone: EmbeddingModel?
    public var validateEvery: Int
    public var patience: Int?
    /// The processes training together (``TrainingRun/group``); nil: this one alone.
    public var group: (any DataParallelGroup)?

    /// A trainer for the run; with a holdout it scores leave-one-out P@1 and MAP@R on the held-out
    /// images every `validateEvery` steps and returns the best model by MAP@R.
    /// - Parameters:
    ///   - checkpointPath: where to write the run's state so it can be resumed; nil writes none.
    ///   - bestModelPath: where each new best model is written as soon as it is found; nil keeps it in memory.
    public func makeTrainer(checkpointPath: String? = nil, bestModelPath: String? = nil) -> Trainer {
        let trainer = Trainer(options: options, images: images, checkpointPath: checkpointPath, backbone: backbone)
        trainer.group = group
        if let held = validationImages {
            trainer.validation = Validation(every: validateEvery, patience: patience, bestModelPath: bestModelPath) { model in
                let vectors = try model.embed(held, batchSize: 256)
                let labels = held.labels.map(Int.init)
                let report = RetrievalMetrics.evaluate(queries: vectors, queryLabels: labels, gallery: vectors, galleryLabels: labels, leaveOneOut: true)
                guard report.queries > 0 else { throw TrainingRunError.nothingToValidate }
                return (report.precisionAt1, report.mapAtR)
            }
        }
        return trainer
    }
}

/// A training run that cannot start as described.
public enum TrainingRunError: Error, CustomStringConvertible, Equatable {
    case channelsDiffer(path: String, takes: Int, asked: Int)
    case holdoutTooSmall(fraction: Double)
    case tooManyHeldOutClasses(Int, classes: Int)
    case nothingToValidate
    case frozenFeatures(path: String)
    case frozenRate

    public var description: String {
        switch self {
        case let .channelsDiffer(path, takes, asked):
            return "--init-from \(path) takes \(takes)-channel images, not --channels \(asked)"
        case let .holdoutTooSmall(fraction):
            return "--val-split \(fraction) holds out no image: only classes of 4 or more images give validation images (two at least, so each has another of its class to find). Use --val-classes, or more images."
        case let .tooManyHeldOutClasses(_, classes):
            return "--val-classes must leave at least two classes to train on; the data has \(classes)"
        case .nothingToValidate:
            return "the validation images have no two of one class, so nothing can be scored; use a larger --val-split or --val-classes"
        case let .frozenFeatures(path):
            return "with --freeze-backbone the pooled features stay the pretrained backbone's own: embed with \(path) as it is, or drop one of the two"
        case .frozenRate:
            return "--backbone-lr-scale sets how fast the backbone learns; with --freeze-backbone it does not learn: drop one"
        }
    }
}
