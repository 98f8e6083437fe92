import Foundation
import Images
import Networks
import Similarity
import Tensors
import Testing

/// The recommended recipe shrunk to the synthetic 12×12 classes: a tiny ResNet, P×K batches.
func minedOptions(steps: Int, miner: MinerKind = .all) -> TrainingOptions {
    var options = TrainingOptions(recipe: .default)
    options.steps = steps
    options.imageSize = 12
    options.channels = 1
    options.widths = [8, 16]
    options.blocks = [1, 1]
    options.embeddingDimension = 8
    options.classesPerBatch = 3
    options.imagesPerClass = 4
    options.warmupSteps = 3
    options.learningRate = 3e-3
    options.miner = miner
    options.checkpointEvery = 4
    options.seed = 5
    return options
}

@Suite("Training with mining, a ResNet, schedules, augmentation and validation")
struct RecipeTrainingTests {
    @Test(arguments: [MinerKind.all, .hard, .semiHard])
    func minedResNetTrainingSeparatesClasses(miner: MinerKind) throws {
        let path = temporaryPath("mined")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var gaps: [Float] = []
        let images = syntheticImages()
        let model = try Trainer(options: minedOptions(steps: 40, miner: miner), images: images, checkpointPath: path)
            .run(resume: false) { gaps.append($0.statistics.meanNegativeDistance - $0.statistics.meanPositiveDistance) }
        #expect(model.network.layers.first is ResidualNetwork)
        let first = gaps.prefix(5).reduce(0, +) / 5, last = gaps.suffix(5).reduce(0, +) / 5
        #expect(last > first + 0.1, "negative − positive distance went from \(first) to \(last)")
        #expect(model.trainingClasses == images.classNames)
    }

    @Test func augmentedResumeRepeatsTheUninterruptedRun() throws {
        let images = syntheticImages()
        let whole = temporaryPath("whole"), split = temporaryPath("split")
        defer { for p in [whole, split] { try? FileManager.default.removeItem(atPath: p) } }
        var options = minedOptions(steps: 8)
        // A cosine schedule depends on --steps, which the split run changes: keep the rate flat.
        options.schedule = .constant
        options.augmentation = Augmentation(cropPadding: 2, horizontalFlip: true, rotationDegrees: 5)
        var uninterrupted: [Float] = [], resumed: [Float] = []
        let a = try Trainer(options: options, images: images, checkpointPath: whole).run(resume: false) { uninterrupted.append($0.statistics.loss) }
        var half = options
        half.steps = 4
        _ = try Trainer(options: half, images: images, checkpointPath: split).run(resume: false) { resumed.append($0.statistics.loss) }
        let b = try Trainer(options: options, images: images, checkpointPath: split).run(resume: true) { resumed.append($0.statistics.loss) }
        #expect(resumed == uninterrupted)
        #expect(a.fingerprint == b.fingerprint)
    }

    @Test func warmupThenCosine() {
        var options = TrainingOptions(recipe: .default)
        options.steps = 110
        options.warmupSteps = 10
        options.learningRate = 1
        #expect(options.learningRate(atStep: 1) == 0.1)
        #expect(options.learningRate(atStep: 10) == 1)
        #expect(abs(options.learningRate(atStep: 60) - 0.5) < 1e-6)
        #expect(options.learningRate(atStep: 110) < 1e-6)
        options.schedule = .constant
        #expect(options.learningRate(atStep: 60) == 1)
    }

    @Test func validationKeepsTheBestModelAndStopsEarly() throws {
        let images = syntheticImages()
        let checkpoint = temporaryPath("validated"), best = temporaryPath("best.safetensors")
        defer { for p in [checkpoint, best] { try? FileManager.default.removeItem(atPath: p) } }
        // A scripted score that peaks at the second validation, then falls: the best model is the
        // one from step 4, and with patience 2 training stops at step 8 of 40.
        let scores = [0.3, 0.9, 0.5, 0.4, 0.8]
        var calls = 0, bestFingerprint = ""
        let trainer = Trainer(options: minedOptions(steps: 40), images: images, checkpointPath: checkpoint)
        trainer.validation = Validation(every: 2, patience: 2, bestModelPath: best) { model in
            defer { calls += 1 }
            if calls == 1 { bestFingerprint = model.fingerprint }
            return (scores[calls], scores[calls])
        }
        var last = 0, results: [ValidationResult] = []
        _ = try trainer.run(resume: false) { step in
            last = step.step
            if let v = step.validation { results.append(v) }
        }
        #expect(trainer.stoppedEarly && last == 8)
        // The stop is the run's end: nothing unfinished to resume, and resuming trains nothing more.
        #expect(Trainer.unfinishedRun(at: checkpoint) == nil)
        let again = Trainer(options: minedOptions(steps: 40), images: images, checkpointPath: checkpoint)
        again.validation = trainer.validation
        var more = 0
        _ = try again.run(resume: true) { _ in more += 1 }
        #expect(more == 0 && again.stoppedEarly)
        #expect(results.map(\.improved) == [true, true, false, false])
        #expect(try EmbeddingModel.load(from: best).fingerprint == bestFingerprint)
        #expect(try SafeTensorsFile.read(from: checkpoint).metadata["akin.checkpoint.step"] == "8")
    }

    @Test func unbuildableArchitectureInAModelFileIsAClearError() throws {
        let path = temporaryPath("zero-width.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try Trainer(options: minedOptions(steps: 1), images: syntheticImages(), checkpointPath: path + ".checkpoint").run(resume: false)
        try model.save(to: path)
        defer { try? FileManager.default.removeItem(atPath: path + ".checkpoint") }
        var file = try SafeTensorsFile.read(from: path)
        file.metadata["akin.architecture"] = file.metadata["akin.architecture"]!.replacingOccurrences(of: "\"width\":16", with: "\"width\":0")
        try file.write(to: path)
        #expect { try EmbeddingModel.load(from: path) } throws: { "\($0)".contains("width ≥ 1") && "\($0)".contains(path) }
    }

    @Test func collapseIsReported() throws {
        let path = temporaryPath("collapse")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Every image the same: all embeddings coincide, the batch-hard loss sits at the margin.
        let images = ImageSet(imageSize: 12, channels: 1, classNames: ["a", "b", "c"], paths: (0..<12).map { "\($0)" },
                              labels: (0..<12).map { Int32($0 % 3) }, pixels: [UInt8](repeating: 90, count: 12 * 144))
        var options = minedOptions(steps: 2, miner: .hard)
        options.augmentation = .none
        var flags: [Bool] = []
        _ = try Trainer(options: options, images: images, checkpointPath: path).run(resume: false) { flags.append($0.collapsed) }
        #expect(flags == [true, true])
        var separable: [Bool] = []
        _ = try Trainer(options: options, images: syntheticImages(), checkpointPath: path).run(resume: false) { separable.append($0.collapsed) }
        #expect(separable == [false, false])
    }

    @Test func splitsHoldOutImagesOrClasses() {
        let images = syntheticImages(perClass: 10)
        let (training, validation) = images.splitByImage(fraction: 0.2, seed: 3)
        #expect(training.count == 24 && validation.count == 6)
        #expect(Set(validation.paths).isDisjoint(with: training.paths))
        // Classes of three keep all their images: a lone held-out image would have nothing to find.
        #expect(syntheticImages(perClass: 3).splitByImage(fraction: 0.5, seed: 3).validation.count == 0)
        #expect(syntheticImages(perClass: 4).splitByImage(fraction: 0.1, seed: 3).validation.count == 6)
        let byClass = images.splitByClass(count: 1, seed: 3)
        #expect(byClass.validation.count == 10 && byClass.heldOut.count == 1)
        #expect(Set(byClass.validation.labels).count == 1 && !Set(byClass.training.labels).contains(byClass.validation.labels[0]))
    }
}
