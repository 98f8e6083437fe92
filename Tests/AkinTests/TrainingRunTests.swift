import Akin
import Foundation
import TestSupport
import Testing

/// TrainingRun resolves a recipe against the data as `akin train` does, and the result trains.
@Suite("TrainingRun")
struct TrainingRunTests {
    @Test func resolvesTheRecipeAgainstTheData() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 8)
        var run = TrainingRun(dataFolder: root + "/data")
        run.steps = 30
        run.customize = { $0.embeddingDimension = 8 }
        let prepared = try run.prepare()
        let o = prepared.options
        // Gray PNGs: one channel; no model to take a size from: 28; three classes: 3 a batch, not the recipe's 10;
        // a 30-step run keeps its warm-up to a tenth of it, not the recipe's 100.
        #expect(o.channels == 1 && o.imageSize == 28 && o.classesPerBatch == 3 && o.warmupSteps == 3)
        #expect(o.embeddingDimension == 8 && o.steps == 30 && o.recipe == .default && o.miner == TrainingOptions(recipe: .default).miner)
        #expect(prepared.images.count == 24 && prepared.validationImages == nil)

        run.holdout = .classes(2)
        #expect(throws: TrainingRunError.tooManyHeldOutClasses(2, classes: 3)) { try run.prepare() }
        run.holdout = .fraction(0.25)
        let held = try run.prepare()
        #expect(held.validationImages.map { $0.count + held.images.count } == 24)
    }

    @Test func trainsWithoutFilesAndTheModelRecordsItsOptions() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 8)
        var run = TrainingRun(dataFolder: root + "/data")
        run.steps = 4
        run.holdout = .fraction(0.25)
        run.validateEvery = 2
        let prepared = try run.prepare()
        let trainer = prepared.makeTrainer()
        #expect(throws: TrainingError.self) { try trainer.run(resume: true) }
        let model = try trainer.run()
        #expect(trainer.bestValidation != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["data"], "no checkpoint or model file unless asked for")

        try model.save(to: root + "/m.safetensors")
        let loaded = try EmbeddingModel.load(from: root + "/m.safetensors")
        #expect(loaded.trainingOptions == prepared.options)

        // A frozen backbone learns nothing: embedding its own features, or giving it a rate, is refused before any work.
        var frozen = TrainingRun(dataFolder: root + "/data")
        frozen.pretrained = TrainingRun.Pretrained(path: root + "/m.safetensors", model: loaded, freeze: true)
        frozen.embeddingSource = .features
        #expect(throws: TrainingRunError.frozenFeatures(path: root + "/m.safetensors")) { try frozen.prepare() }
        frozen.embeddingSource = nil
        frozen.pretrained?.learningRateScale = 0.1
        #expect(throws: TrainingRunError.frozenRate) { try frozen.prepare() }

        // One decoded image embeds as the same file does among many.
        let file = root + "/data/bar/3.png"
        let one = try loaded.embed(try ImageDecoder.decodeFile(file, channels: 1))
        let many = try loaded.embed(files: [root + "/data"])
        let row = try #require(many.paths.firstIndex(of: file))
        let d = loaded.embeddingDimension
        #expect(many.count == 24 && many.labels[row] == "bar")
        #expect(zip(one, Array(many.vectors.buffer[(row * d)..<((row + 1) * d)])).allSatisfy { abs($0 - $1) < 1e-5 })
    }
}
