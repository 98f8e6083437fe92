import Foundation
import Images
import Networks
import Similarity
import Tensors
import Testing

/// Training a new head on a pretrained backbone (`TrainingOptions.pretrained`): frozen, on
/// features computed once, or fine-tuned with it at its own learning rate.
@Suite("Fine-tuning a pretrained backbone")
struct FineTuningTests {
    /// A small imported-style backbone (convolution, batch norm, ReLU, pooled) with random weights
    /// and running statistics, as `akin import onnx` would give.
    static func backbone() -> EmbeddingModel {
        let spec = GraphSpec(nodes: [
            GraphNode(name: "conv", operation: .convolution(outputChannels: 12, kernel: 3, stride: 2, padding: 1, paddingEnd: 1,
                                                            dilation: 1, groups: 1, bias: false), inputs: [0]),
            GraphNode(name: "norm", operation: .batchNorm(epsilon: 1e-5), inputs: [1]),
            GraphNode(name: "relu", operation: .relu, inputs: [2]),
            GraphNode(name: "pool", operation: .globalAveragePool, inputs: [3]),
            GraphNode(name: "flat", operation: .flatten, inputs: [4]),
        ], output: 5)
        let architecture = Architecture(name: "tiny", inputChannels: 1, inputSize: 12, layers: [.graph(spec)])
        let network = architecture.build()
        var generator = RandomGenerator(seed: 21)
        Initialization.kaimingNormal(network, using: &generator)
        // Batch norm as trained: scale near 1, small shifts and running statistics.
        for parameter in network.parameters + network.buffers where parameter.value.shape.count == 1 {
            let (low, high): (Float, Float) = parameter.name.hasSuffix("running_var") ? (0.3, 0.8)
                : parameter.name.hasSuffix("nodes.1.weight") ? (0.8, 1.2) : (-0.1, 0.1)
            for i in 0..<parameter.value.count { parameter.value[i] = low + (high - low) * generator.nextFloat() }
        }
        return EmbeddingModel(architecture: architecture, preprocessing: Preprocessing(imageSize: 12, channels: 1, mean: [0.4], std: [0.3]),
                              distance: .cosine, network: network)
    }

    static func options(steps: Int, freeze: Bool, scale: Float = 1, backbone: EmbeddingModel) -> TrainingOptions {
        var options = minedOptions(steps: steps)
        options.imageSize = 12
        options.embeddingDimension = 6
        options.checkpointEvery = 3
        options.pretrained = PretrainedBackbone(path: "tiny.safetensors", fingerprint: backbone.fingerprint, freeze: freeze, learningRateScale: scale)
        return options
    }

    @Test(arguments: [true, false])
    func theHeadLearnsAndTheBackboneMovesOnlyWhenNotFrozen(frozen: Bool) throws {
        let backbone = Self.backbone(), images = syntheticImages()
        let path = temporaryPath("fine-tune")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var losses: [Float] = []
        let model = try Trainer(options: Self.options(steps: 30, freeze: frozen, backbone: backbone), images: images, checkpointPath: path,
                                backbone: backbone).run(resume: false) { losses.append($0.statistics.loss) }
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        #expect(last < 0.7 * first, "loss went from \(first) to \(last): \(losses)")
        #expect(model.architecture.layers.count == 3 && model.embeddingDimension == 6 && model.preprocessing.mean == [0.4])
        let before = Dictionary(uniqueKeysWithValues: (backbone.network.parameters + backbone.network.buffers).map { ($0.name, $0.value.array) })
        let after = (model.network.layers[0].parameters + model.network.layers[0].buffers).map { before[$0.name] == $0.value.array }
        #expect(after.count == 5 && after.allSatisfy { $0 == frozen }, "frozen: \(frozen), unchanged: \(after) \(model.network.layers[0].parameters.map(\.name))")
    }

    /// A learning-rate scale of 0 keeps the backbone's weights (its batch statistics still move).
    @Test func aZeroScaleKeepsTheBackbonesWeights() throws {
        let backbone = Self.backbone(), path = temporaryPath("scale")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try Trainer(options: Self.options(steps: 4, freeze: false, scale: 0, backbone: backbone), images: syntheticImages(),
                                checkpointPath: path, backbone: backbone).run(resume: false)
        for (mine, theirs) in zip(model.network.layers[0].parameters, backbone.network.parameters) {
            #expect(mine.value.array == theirs.value.array, "\(mine.name)")
        }
    }

    @Test func aResumedFrozenRunRepeatsTheUninterruptedOne() throws {
        let backbone = Self.backbone(), images = syntheticImages()
        let whole = temporaryPath("whole"), split = temporaryPath("split")
        defer { for p in [whole, split] { try? FileManager.default.removeItem(atPath: p) } }
        var uninterrupted: [Float] = [], resumed: [Float] = []
        let a = try Trainer(options: Self.options(steps: 6, freeze: true, backbone: backbone), images: images, checkpointPath: whole, backbone: backbone)
            .run(resume: false) { uninterrupted.append($0.statistics.loss) }
        _ = try Trainer(options: Self.options(steps: 3, freeze: true, backbone: backbone), images: images, checkpointPath: split, backbone: backbone)
            .run(resume: false) { resumed.append($0.statistics.loss) }
        let b = try Trainer(options: Self.options(steps: 6, freeze: true, backbone: backbone), images: images, checkpointPath: split, backbone: backbone)
            .run(resume: true) { resumed.append($0.statistics.loss) }
        #expect(resumed == uninterrupted && a.fingerprint == b.fingerprint)
        // Another backbone's weights are refused.
        #expect(throws: TrainingError.self) {
            try Trainer(options: Self.options(steps: 6, freeze: true, backbone: backbone), images: images, checkpointPath: temporaryPath("other"),
                        backbone: Self.backboneWithOtherWeights()).run(resume: false)
        }
    }

    static func backboneWithOtherWeights() -> EmbeddingModel {
        let model = backbone()
        model.network.parameters[0].value[0] += 1
        return model
    }

    /// Validation scores the backbone as it is first; the model file stays the backbone until a
    /// fine-tuned model scores higher, and becomes the fine-tuned one when it does.
    @Test(arguments: [false, true])
    func validationKeepsTheUntrainedBackboneUnlessBeaten(fineTuningWins: Bool) throws {
        let backbone = Self.backbone(), best = temporaryPath("best.safetensors"), checkpoint = temporaryPath("ckpt")
        defer { for p in [best, checkpoint] { try? FileManager.default.removeItem(atPath: p) } }
        let trainer = Trainer(options: Self.options(steps: 6, freeze: true, backbone: backbone), images: syntheticImages(),
                              checkpointPath: checkpoint, backbone: backbone)
        var scored: [Int] = []
        trainer.validation = Validation(every: 3, patience: nil, bestModelPath: best) { model in
            // The untrained backbone scores 0.5; fine-tuned models 0.4, or 0.6 when they are to win.
            let untrained = model.architecture.layers.count == 1
            scored.append(untrained ? 0 : 1)
            return untrained ? (0.5, 0.5) : fineTuningWins ? (0.6, 0.6) : (0.4, 0.4)
        }
        var first: ValidationResult?
        trainer.onBackboneValidation = { first = $0 }
        _ = try trainer.run(resume: false)
        #expect(first?.step == 0 && first?.mapAtR == 0.5 && scored.first == 0 && scored.count == 3)
        // Fine-tuning wins at step 3 (step 6 only ties it): the file is that model, with its head.
        let written = try EmbeddingModel.load(from: best)
        #expect((written.fingerprint == backbone.fingerprint) == !fineTuningWins)
        #expect(written.architecture.layers.count == (fineTuningWins ? 3 : 1))
        #expect(trainer.bestValidation?.step == (fineTuningWins ? 3 : 0))
    }

    /// A model that already has a head gives only its layers before it: the new head is new, of its own size.
    @Test func aFineTunedModelIsFineTunedAgainWithANewHead() throws {
        let backbone = Self.backbone(), path = temporaryPath("first"), second = temporaryPath("second")
        defer { for p in [path, second] { try? FileManager.default.removeItem(atPath: p) } }
        let tuned = try Trainer(options: Self.options(steps: 3, freeze: true, backbone: backbone), images: syntheticImages(),
                                checkpointPath: path, backbone: backbone).run(resume: false)
        var options = Self.options(steps: 3, freeze: false, backbone: tuned)
        options.embeddingDimension = 5
        let again = try Trainer(options: options, images: syntheticImages(), checkpointPath: second, backbone: tuned).run(resume: false)
        #expect(again.architecture.layers.count == 3 && again.embeddingDimension == 5)
        #expect(try #require(again.network.parameters.first { $0.name == "layers.1.weight" }).value.shape == [5, 12])
        // An Akin-built backbone (seed network, several built layers before the head) freezes too.
        var seedOptions = smallOptions(steps: 3)
        seedOptions.channels = 1
        let seed = try Trainer(options: seedOptions, images: syntheticImages(), checkpointPath: temporaryPath("seed")).run(resume: false)
        var frozenOnSeed = Self.options(steps: 3, freeze: true, backbone: seed)
        frozenOnSeed.embeddingDimension = 4
        let onSeed = try Trainer(options: frozenOnSeed, images: syntheticImages(), checkpointPath: temporaryPath("onseed"), backbone: seed)
            .run(resume: false)
        #expect(onSeed.embeddingDimension == 4)
    }

    @Test func augmentationWithAFrozenBackboneIsRefused() throws {
        let backbone = Self.backbone()
        var options = Self.options(steps: 3, freeze: true, backbone: backbone)
        options.augmentation.cropPadding = 2
        #expect(throws: TrainingOptionsError.frozenBackboneAugmentation) {
            try Trainer(options: options, images: syntheticImages(), checkpointPath: temporaryPath("aug"), backbone: backbone).run(resume: false)
        }
    }
}
