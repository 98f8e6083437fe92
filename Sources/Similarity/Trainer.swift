import Foundation
import Images
import Networks
import Tensors

public enum TrainingError: Error, CustomStringConvertible {
    case diverged(step: Int, loss: Float, lastCheckpoint: Int?, checkpointPath: String)

    public var description: String {
        switch self {
        case let .diverged(step, loss, last, path):
            let kept = last.map { "the last good checkpoint (step \($0)) is kept at \(path)" } ?? "no checkpoint had been written yet"
            let what = loss.isFinite ? "the loss became \(loss)" : loss.isNaN ? "the loss became NaN" : "the loss or the weights became infinite"
            return "training stopped at step \(step): \(what); \(kept). Lower --lr (or --momentum) and train again, or resume with a lower --lr."
        }
    }
}

/// One finished step, for progress bars and logs.
public struct TrainingStep: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var statistics: TripletStatistics
    public var learningRate: Float
    public var seconds: Double
}

/// Trains a triplet network: the anchor, positive and negative branches are one network, run
/// on one batch of 3·B images; the loss's gradient flows back through all three at once.
public final class Trainer {
    public let options: TrainingOptions
    public let images: ImageSet
    public let checkpointPath: String
    /// When set, each step adds its stages' times here, and the network its layers' times.
    public var profile: TrainingProfile?

    public init(options: TrainingOptions, images: ImageSet, checkpointPath: String) {
        self.options = options
        self.images = images
        self.checkpointPath = checkpointPath
    }

    /// Identifies the training images, so a checkpoint is never resumed on other data.
    var datasetIdentity: String {
        var hash = FNV1a()
        images.pixels.withUnsafeBytes { hash.mix($0) }
        images.labels.withUnsafeBytes { hash.mix($0) }
        return "\(images.count) images, \(images.classNames.count) classes, \(String(hash.value, radix: 16))"
    }

    private func freshStart() -> Checkpoint {
        var generator = RandomGenerator(seed: options.seed)
        let architecture = Architecture.seed(channels: options.channels, imageSize: options.imageSize,
                                             embeddingDimension: options.embeddingDimension)
        let network = architecture.build()
        Initialization.xavierUniform(network, using: &generator)
        let statistics = images.channelStatistics()
        let preprocessing = Preprocessing(imageSize: options.imageSize, channels: options.channels,
                                          mean: statistics.mean, std: statistics.std)
        let model = EmbeddingModel(architecture: architecture, preprocessing: preprocessing, distance: options.distance, network: network)
        return Checkpoint(model: model, optimizer: options.makeOptimizer(), generator: generator, step: 0,
                          options: options, datasetIdentity: datasetIdentity)
    }

    private func resumed() throws -> Checkpoint {
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
        state.options = options
        state.optimizer.learningRate = options.learningRate
        return state
    }

    /// Runs to `options.steps`, writing a checkpoint every `checkpointEvery` steps and at the end.
    public func run(resume: Bool, onStep: (TrainingStep) -> Void = { _ in }) throws -> EmbeddingModel {
        var state = resume ? try resumed() : freshStart()
        let model = state.model, network = model.network, optimizer = state.optimizer
        let parameters = network.parameters
        let loss = TripletLoss(margin: options.margin, distance: options.distance)
        let sampler = RandomTripletSampler(labels: images.labels, classCount: images.classNames.count)
        let batch = Tensor(shape: [3 * options.batch] + model.architecture.inputShape)
        let gradient = Tensor(shape: [3 * options.batch, model.embeddingDimension])
        var indices: [Int] = []
        var lastCheckpoint: Int? = resume ? state.step : nil
        if let profile { network.profile = profile.layers ?? LayerProfile(network); profile.layers = network.profile }
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap(_ stage: TrainingProfile.Stage) {
            let now = DispatchTime.now().uptimeNanoseconds
            profile?.stages[stage.rawValue] += now - clock
            clock = now
        }

        while state.step < options.steps {
            let started = DispatchTime.now().uptimeNanoseconds
            clock = started
            let step = state.step + 1
            sampler.sample(batch: options.batch, using: &state.generator, into: &indices)
            images.fill(batch.pointer, indices: indices, preprocessing: model.preprocessing)
            lap(.batch)
            let embeddings = network.forward(batch)
            lap(.forward)
            let statistics = loss.evaluate(embeddings: embeddings, gradient: gradient)
            lap(.loss)
            guard statistics.loss.isFinite, statistics.meanPositiveDistance.isFinite, statistics.meanNegativeDistance.isFinite else {
                throw TrainingError.diverged(step: step, loss: statistics.loss, lastCheckpoint: lastCheckpoint, checkpointPath: checkpointPath)
            }
            network.backward(gradient)
            lap(.backward)
            optimizer.step(parameters)
            lap(.optimizer)
            profile?.steps += 1
            state.step = step
            // The step is reported (and logged) before its checkpoint, so a crash in between
            // leaves no gap in the log of a resumed run.
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            onStep(TrainingStep(step: step, totalSteps: options.steps, statistics: statistics,
                                learningRate: optimizer.learningRate, seconds: seconds))
            clock = DispatchTime.now().uptimeNanoseconds
            if step % max(1, options.checkpointEvery) == 0 || step == options.steps {
                // Weights that overflowed are no checkpoint to come back to.
                guard parameters.allSatisfy({ $0.value.buffer.allSatisfy(\.isFinite) }) else {
                    throw TrainingError.diverged(step: step, loss: .infinity, lastCheckpoint: lastCheckpoint, checkpointPath: checkpointPath)
                }
                try state.write(to: checkpointPath)
                lastCheckpoint = step
            }
            lap(.checkpoint)
        }
        return model
    }
}

/// Where training time goes: each stage of a step, and each layer of the network.
public final class TrainingProfile {
    public enum Stage: Int, CaseIterable { case batch, forward, loss, backward, optimizer, checkpoint }
    public var stages = [UInt64](repeating: 0, count: Stage.allCases.count)
    public var layers: LayerProfile?
    public var steps = 0

    public init() {}

    public func table() -> String {
        let total = Double(stages.reduce(0, +))
        var lines = ["stage        ms/step   share"]
        for stage in Stage.allCases {
            let ns = Double(stages[stage.rawValue])
            lines.append("\(stage)".padding(toLength: 12, withPad: " ", startingAt: 0)
                         + String(format: "%8.2f %6.1f%%", ns / 1e6 / Double(max(steps, 1)), total > 0 ? ns / total * 100 : 0))
        }
        if let layers { lines.append(""); lines.append(layers.table(passes: steps)) }
        return lines.joined(separator: "\n")
    }
}
