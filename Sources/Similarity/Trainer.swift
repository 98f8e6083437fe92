import Foundation
import Images
import Networks
import Tensors

/// Trains an embedding network with triplet losses. With the random miner (the seed's recipe)
/// each step is B independent triplets, run as one batch of 3·B images; with the others it is P
/// classes × K images, and the triplets are mined from the batch's distance matrix. Either way the
/// anchor, positive and negative branches are one network and the loss's gradient flows back
/// through all of them at once.
public final class Trainer {
    public let options: TrainingOptions
    public let images: ImageSet
    /// Where the run's state is written every `options.checkpointEvery` steps (and at the end), so
    /// `run(resume: true)` can continue it; nil writes none.
    public let checkpointPath: String?
    /// When set, each step adds its stages' times here, and the network its layers' times.
    public var profile: TrainingProfile?
    public var validation: Validation?
    /// Whether the last run stopped before `options.steps` because validation stopped improving.
    public private(set) var stoppedEarly = false
    /// The network being trained, once `run` has started: `onStep` may read its parameters (weight histograms).
    public private(set) var trainingNetwork: Sequential?

    /// The pretrained model `options.pretrained` names, loaded (`akin import onnx` writes one).
    public let backbone: EmbeddingModel?
    /// Called while a frozen backbone computes the training images' features, with images done and total.
    public var onFeatureCaching: ((Int, Int) -> Void)?
    /// With validation, a fine-tuning run first scores the pretrained backbone as it is (its pooled
    /// features, step 0) and keeps it as the best model until a fine-tuned one beats it.
    public var onBackboneValidation: ((ValidationResult) -> Void)?
    /// The best validation of the last run (step 0: the untrained backbone), when validating.
    public private(set) var bestValidation: ValidationResult?
    /// The best model so far, when validating (its file may also be at `validation.bestModelPath`).
    private var bestModel: SafeTensorsFile?
    /// The processes this one trains with, data-parallel (`mpirun … --distributed`); nil trains
    /// alone. Each runs its slice of every global batch; process 0 alone writes the checkpoint.
    public var group: (any DataParallelGroup)?

    public init(options: TrainingOptions, images: ImageSet, checkpointPath: String? = nil, backbone: EmbeddingModel? = nil) {
        self.options = options
        self.images = images
        self.checkpointPath = checkpointPath
        self.backbone = backbone
    }

    /// Identifies the training images, so a checkpoint is never resumed on other data.
    var datasetIdentity: String {
        var hash = FNV1a()
        images.pixels.withUnsafeBytes { hash.mix($0) }
        images.labels.withUnsafeBytes { hash.mix($0) }
        return "\(images.count) images, \(images.classNames.count) classes, \(String(hash.value, radix: 16))"
    }

    /// Names of the classes that have training images (a held-out class has none).
    var trainedClassNames: [String] {
        var present = [Bool](repeating: false, count: images.classNames.count)
        for label in images.labels { present[Int(label)] = true }
        return images.classNames.indices.filter { present[$0] }.map { images.classNames[$0] }
    }

    private func freshStart() throws -> Checkpoint {
        var generator = RandomGenerator(seed: options.seed)
        if let pretrained = options.pretrained {
            guard let backbone, backbone.fingerprint == pretrained.fingerprint else {
                throw TrainingError.backboneMissing(path: pretrained.path)
            }
            let architecture = options.architecture(on: backbone.architecture)
            if let problem = architecture.problem { throw TrainingError.backboneUnfit(path: pretrained.path, reason: problem) }
            let network = architecture.build()
            // A new head (Xavier), then the backbone's weights and statistics as they were trained.
            Initialization.kaimingNormal(network, using: &generator)
            try copyBackbone(backbone, into: network, layers: backbone.architecture.layersBeforeHead.count, path: pretrained.path)
            var preprocessing = backbone.preprocessing
            preprocessing.imageSize = options.imageSize
            let model = EmbeddingModel(architecture: architecture, preprocessing: preprocessing, distance: options.distance, network: network)
            return Checkpoint(model: model, optimizer: options.makeOptimizer(), generator: generator, step: 0,
                              options: options, datasetIdentity: datasetIdentity, processes: group?.size ?? 1)
        }
        let architecture = options.architecture
        let network = architecture.build()
        switch options.backbone {
        case .seed: Initialization.xavierUniform(network, using: &generator)
        case .resnet: Initialization.kaimingNormal(network, using: &generator)
        }
        let statistics = images.channelStatistics()
        let preprocessing = Preprocessing(imageSize: options.imageSize, channels: options.channels,
                                          mean: statistics.mean, std: statistics.std)
        let model = EmbeddingModel(architecture: architecture, preprocessing: preprocessing, distance: options.distance, network: network)
        return Checkpoint(model: model, optimizer: options.makeOptimizer(), generator: generator, step: 0,
                          options: options, datasetIdentity: datasetIdentity, processes: group?.size ?? 1)
    }

    private func resumed() throws -> Checkpoint {
        guard let checkpointPath else { throw TrainingError.noCheckpointToResume }
        var state = try Checkpoint.read(from: checkpointPath)
        let differences = options.differences(from: state.options)
        guard differences.isEmpty else {
            throw CheckpointError.incompatible(path: checkpointPath, reason: "options differ (\(differences.joined(separator: "; ")))")
        }
        guard state.datasetIdentity == datasetIdentity else {
            throw CheckpointError.incompatible(path: checkpointPath, reason: "it was trained on other images (\(state.datasetIdentity)), not these (\(datasetIdentity))")
        }
        guard state.step <= options.steps else {
            throw CheckpointError.incompatible(path: checkpointPath, reason: "it is already at step \(state.step), past --steps \(options.steps)")
        }
        // Batch norm keeps statistics per process: another count would not continue the same run.
        guard state.processes == group?.size ?? 1 else {
            throw DataParallelError.processCountDiffers(checkpoint: state.processes, now: group?.size ?? 1)
        }
        state.options = options
        return state
    }

    /// Copies the pretrained model's weights and statistics of its first `count` layer specs (those
    /// before its head) into `network`, which must have the same layers there.
    private func copyBackbone(_ backbone: EmbeddingModel, into network: Sequential, layers count: Int, path: String) throws {
        let trained = Dictionary(uniqueKeysWithValues: (backbone.network.parameters + backbone.network.buffers).map { ($0.name, $0.value) })
        let kept = (0..<count).map { "layers.\($0)." }
        for parameter in network.parameters + network.buffers where kept.contains(where: { parameter.name.hasPrefix($0) }) {
            guard let value = trained[parameter.name], value.shape == parameter.value.shape else {
                throw TrainingError.backboneUnfit(path: path, reason: "its \(parameter.name) does not fit \(parameter.value.shape) at image size \(options.imageSize)")
            }
            parameter.value.copy(from: value)
        }
    }

    /// The pretrained model's layers before its head at this run's image size, untrained: what
    /// validation scores first, and keeps unless fine-tuning beats it.
    private func untrainedBackbone(_ backbone: EmbeddingModel, path: String) throws -> EmbeddingModel {
        let body = backbone.architecture.layersBeforeHead
        let architecture = Architecture(name: backbone.architecture.name, inputChannels: backbone.architecture.inputChannels,
                                        inputSize: options.imageSize, layers: body)
        if let problem = architecture.problem { throw TrainingError.backboneUnfit(path: path, reason: problem) }
        let network = architecture.build()
        try copyBackbone(backbone, into: network, layers: body.count, path: path)
        var preprocessing = backbone.preprocessing
        preprocessing.imageSize = options.imageSize
        return EmbeddingModel(architecture: architecture, preprocessing: preprocessing, distance: backbone.distance, network: network)
    }

    /// Every training image's features from the frozen backbone (its `depth` built layers, inference mode), once.
    private func cachedFeatures(_ model: EmbeddingModel, depth: Int) throws -> Tensor {
        let network = model.network, inputShape = model.architecture.inputShape
        let width = network.outputShape(for: [1] + inputShape, through: depth).dropFirst().reduce(1, *), n = images.count
        let features = Tensor(shape: [n, width])
        let size = min(model.batchSize(requested: 64), max(n, 1))
        let batch = Tensor(shape: [size] + inputShape)
        network.isTraining = false
        defer { network.isTraining = true }
        var start = 0
        while start < n {
            let end = min(n, start + size)
            images.fill(batch.pointer, indices: start..<end, preprocessing: model.preprocessing)
            let output = try network.forward(batch, through: depth)
            (features.pointer + start * width).update(from: output.pointer, count: (end - start) * width)
            start = end
            onFeatureCaching?(start, n)
        }
        return features
    }

    /// Batches and the loss for the chosen miner.
    /// Where a step's batch comes from and what it is scored by (`TrainingOptions.makeLoss`).
    private struct Objective {
        let random: RandomTripletSampler?
        let classes: PKSampler?
        let loss: WeightedLossSum
        /// The instance term's batches hold each image twice, side by side.
        let twoViews: Bool

        init(options: TrainingOptions, images: ImageSet, dimension: Int, restored: [String: Tensor]) throws {
            loss = try options.makeLoss(classes: images.classNames.count, dimension: dimension, restored: restored)
            twoViews = options.instanceWeight > 0
            if options.samplesClasses {
                random = nil
                classes = try PKSampler(labels: images.labels, classCount: images.classNames.count,
                                        classesPerBatch: options.classesPerBatch, imagesPerClass: options.imagesPerClass)
            } else {
                random = RandomTripletSampler(labels: images.labels, classCount: images.classNames.count)
                classes = nil
            }
        }

        func sample(_ options: TrainingOptions, _ generator: inout RandomGenerator, into indices: inout [Int]) {
            if let classes { classes.sample(using: &generator, into: &indices) } else { random!.sample(batch: options.batch, using: &generator, into: &indices) }
            guard twoViews else { return }
            // Two views: the first K/2 images of each class's K, each twice in a row.
            let k = options.imagesPerClass
            for start in stride(from: 0, to: indices.count, by: k) {
                let chosen = indices[start..<(start + k / 2)]
                for (offset, index) in chosen.enumerated() { indices[start + 2 * offset] = index; indices[start + 2 * offset + 1] = index }
            }
        }

        var parameters: [Parameter] { loss.parameters }

        func evaluate(_ embeddings: Tensor, labels: [Int32], gradient: Tensor) -> TripletStatistics {
            loss.evaluate(embeddings: embeddings, labels: labels, gradient: gradient)
        }
    }

    /// Runs to `options.steps` (or an early stop), writing a checkpoint every `checkpointEvery`
    /// steps and at the end.
    /// Trains to `options.steps` (or until validation stops improving) and returns the model: the
    /// best by validation MAP@R when validating (of this run's validations, when resumed without a
    /// `bestModelPath`), else the last. `onStep` is called after every step.
    public func run(resume: Bool = false, onStep: (TrainingStep) -> Void = { _ in }) throws -> EmbeddingModel {
        let last = try train(resume: resume, onStep: onStep)
        guard validation != nil, let bestModel else { return last }
        let best = try EmbeddingModel.load(file: bestModel, path: validation?.bestModelPath ?? "the best model")
        best.trainingClasses = last.trainingClasses
        best.trainingOptions = last.trainingOptions
        return best
    }

    private func train(resume: Bool, onStep: (TrainingStep) -> Void) throws -> EmbeddingModel {
        bestModel = nil
        if group != nil && validation != nil {
            // Validation decides when to stop and which model to keep: every process would have to
            // agree on it, which this version does not arrange.
            throw DataParallelError.unsupported(option: "--val-split and --val-classes",
                                                reason: "validation runs in one process; train, then score the model with `akin eval`")
        }
        var state = resume ? try resumed() : try freshStart()
        let model = state.model, network = model.network, optimizer = state.optimizer
        trainingNetwork = network
        model.trainingClasses = trainedClassNames
        model.trainingOptions = options
        let outputDimension = model.outputDimension
        let objective = try Objective(options: options, images: images, dimension: outputDimension, restored: state.lossParameters)
        // A pretrained backbone is layer 0: frozen, only the head trains (on features computed once);
        // else it may learn at its own rate.
        let frozen = options.pretrained?.freeze == true
        if frozen && !options.augmentation.isIdentity { throw TrainingOptionsError.frozenBackboneAugmentation }
        // The backbone is every built layer before the head (the dense and unit-length layers built one for one).
        let bodyDepth = options.pretrained == nil ? 0
            : network.layers.count - (model.architecture.layers.count - model.architecture.layersBeforeHead.count)
        let backboneParameters = network.layers.prefix(bodyDepth).flatMap(\.parameters)
        let headParameters = network.layers.dropFirst(bodyDepth).flatMap(\.parameters) + objective.parameters
        let groups = frozen ? [ParameterGroup(headParameters)]
            : [ParameterGroup(backboneParameters, learningRateScale: options.pretrained?.learningRateScale ?? 1), ParameterGroup(headParameters)]
        if !resume, state.step == 0, let validation, let backbone, let pretrained = options.pretrained {
            onBackboneValidation?(try validate(try untrainedBackbone(backbone, path: pretrained.path), step: 0, state: &state, validation: validation))
        }
        defer { bestValidation = state.bestValidation }
        let features = frozen ? try cachedFeatures(model, depth: bodyDepth) : nil
        let parameters = network.parameters + objective.parameters
        state.lossParameters = Dictionary(uniqueKeysWithValues: objective.parameters.map { ($0.name, $0.value) })
        // Data-parallel: this process runs the network on its rows of each batch only.
        let trainedParameters = frozen ? network.layers.dropFirst(bodyDepth).flatMap(\.parameters) : network.parameters
        let shared = try group.map { group throws(DataParallelError) in
            try DataParallelStep(group: group, globalCount: options.imagesPerStep, width: outputDimension,
                                 parameterCount: (trainedParameters + objective.parameters).reduce(0) { $0 + $1.gradient.count })
        }
        let rows = shared?.localRows ?? 0..<options.imagesPerStep
        let featureBatch = features.map { Tensor(shape: [rows.count, $0.shape[1]]) }
        let batch = Tensor(shape: frozen ? [1] : [rows.count] + model.architecture.inputShape)
        let gradient = shared?.gradient ?? Tensor(shape: [options.imagesPerStep, outputDimension])
        var indices: [Int] = [], labels: [Int32] = []
        var lastCheckpoint: Int? = resume ? state.step : nil
        stoppedEarly = false
        if let profile { network.profile = profile.layers ?? LayerProfile(network); profile.layers = network.profile }
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap(_ stage: TrainingProfile.Stage) {
            let now = DispatchTime.now().uptimeNanoseconds
            profile?.stages[stage.rawValue] += now - clock
            clock = now
        }

        // A run that stopped early is finished: resuming it trains nothing more.
        if state.stoppedEarly {
            stoppedEarly = true
            return model
        }
        while state.step < options.steps {
            let started = DispatchTime.now().uptimeNanoseconds
            clock = started
            let step = state.step + 1
            objective.sample(options, &state.generator, into: &indices)
            labels.removeAll(keepingCapacity: true)
            for index in indices { labels.append(images.labels[index]) }
            if let features, let featureBatch {
                let width = features.shape[1]
                for (row, index) in indices[rows].enumerated() {
                    (featureBatch.pointer + row * width).update(from: features.pointer + index * width, count: width)
                }
            } else if options.augmentation.isIdentity {
                images.fill(batch.pointer, indices: indices[rows], preprocessing: model.preprocessing)
            } else {
                // Each step's augmentation has its own seed, so a resumed run draws the same; an
                // image's draw follows its position in the global batch, whichever process fills it.
                images.fill(batch.pointer, indices: indices[rows], preprocessing: model.preprocessing,
                            augmentation: options.augmentation, seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step),
                            firstPosition: rows.lowerBound)
            }
            lap(.batch)
            let local = try featureBatch.map { try network.forward($0, from: bodyDepth) } ?? network.forward(batch)
            lap(.forward)
            // Every process scores the whole batch's embeddings, so mining sees the global batch.
            let embeddings = try shared?.gather(local) ?? local
            lap(.communication)
            let statistics = objective.evaluate(embeddings, labels: labels, gradient: gradient)
            lap(.loss)
            guard statistics.loss.isFinite, statistics.meanPositiveDistance.isFinite, statistics.meanNegativeDistance.isFinite else {
                throw TrainingError.diverged(step: step, loss: statistics.loss, lastCheckpoint: lastCheckpoint, checkpointPath: checkpointPath)
            }
            let localGradient = shared?.localRowsOfGradient() ?? gradient
            if frozen { try network.backward(localGradient, downTo: bodyDepth) } else { try network.backward(localGradient) }
            lap(.backward)
            try shared?.sumGradients(trainedParameters, replicated: objective.parameters)
            lap(.communication)
            optimizer.learningRate = options.learningRate(atStep: step)
            optimizer.step(groups)
            lap(.optimizer)
            profile?.steps += 1
            state.step = step
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9

            var result: ValidationResult?
            if let validation, step % max(1, validation.every) == 0 || step == options.steps {
                result = try validate(model, step: step, state: &state, validation: validation)
            }
            // Collapse: negatives as close as positives, and both far inside the margin (or, without
            // one, far below the unit sphere's scale).
            let scale = options.softMargin || options.loss != .triplet ? 1 : max(options.margin, 1e-3)
            let collapsed = statistics.meanNegativeDistance < 0.05 * scale
                && statistics.meanNegativeDistance - statistics.meanPositiveDistance < 0.01 * scale
            // The step is reported (and logged) before its checkpoint, so a crash in between
            // leaves no gap in the log of a resumed run.
            onStep(TrainingStep(step: step, totalSteps: options.steps, statistics: statistics, learningRate: optimizer.learningRate,
                                seconds: seconds, images: options.imagesPerStep, collapsed: collapsed, validation: result))
            clock = DispatchTime.now().uptimeNanoseconds
            let stopping = validation.map { v in v.patience.map { state.validationsWithoutImprovement >= $0 } ?? false } ?? false
            state.stoppedEarly = stopping
            if step % max(1, options.checkpointEvery) == 0 || step == options.steps || stopping {
                try shared?.averageBuffers(network.buffers)
                // Weights that overflowed are no checkpoint to come back to.
                guard parameters.allSatisfy({ $0.value.buffer.allSatisfy(\.isFinite) }) else {
                    throw TrainingError.diverged(step: step, loss: .infinity, lastCheckpoint: lastCheckpoint, checkpointPath: checkpointPath)
                }
                if let checkpointPath {
                    // Process 0 writes it for all: the others' state is the same (and the same file on a shared disk).
                    if group?.isLeader ?? true { try state.write(to: checkpointPath) }
                    lastCheckpoint = step
                }
            }
            lap(.checkpoint)
            if stopping {
                stoppedEarly = true
                break
            }
        }
        return model
    }

    private func validate(_ model: EmbeddingModel, step: Int, state: inout Checkpoint, validation: Validation) throws -> ValidationResult {
        model.network.isTraining = false
        defer { model.network.isTraining = true }
        let score = try validation.score(model)
        var result = ValidationResult(step: step, precisionAt1: score.precisionAt1, mapAtR: score.mapAtR)
        if state.bestValidation.map({ score.mapAtR > $0.mapAtR }) ?? true {
            result.improved = true
            state.bestValidation = result
            state.validationsWithoutImprovement = 0
            let contents = try model.fileContents()
            bestModel = contents
            if let path = validation.bestModelPath { try contents.write(to: path) }
        } else {
            state.validationsWithoutImprovement += 1
        }
        return result
    }
}
