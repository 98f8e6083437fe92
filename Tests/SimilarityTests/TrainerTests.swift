import Foundation
import Images
import Networks
import Similarity
import Tensors
import Testing

/// Three classes of 12×12 gray images: a bright bar in a class-specific place, plus noise.
func syntheticImages(perClass: Int = 12, seed: UInt64 = 1) -> ImageSet {
    var generator = RandomGenerator(seed: seed)
    var pixels: [UInt8] = [], labels: [Int32] = [], paths: [String] = []
    for label in 0..<3 { for i in 0..<perClass {
        for y in 0..<12 { for x in 0..<12 {
            let onBar = label == 0 ? (y >= 2 && y < 5) : label == 1 ? (x >= 7 && x < 10) : (abs(x - y) < 2)
            pixels.append(UInt8(min(255, (onBar ? 180 : 30) + generator.nextInt(below: 60))))
        } }
        labels.append(Int32(label))
        paths.append("class\(label)/\(i).png")
    } }
    return ImageSet(imageSize: 12, channels: 1, classNames: ["bar", "column", "diagonal"], paths: paths, labels: labels, pixels: pixels)
}

func temporaryPath(_ name: String) -> String { NSTemporaryDirectory() + "akin-\(UUID().uuidString)-\(name)" }

func smallOptions(steps: Int) -> TrainingOptions {
    var options = TrainingOptions()
    options.steps = steps
    options.batch = 16
    options.imageSize = 12
    options.channels = 1
    options.embeddingDimension = 8
    options.optimizer = .adam
    options.learningRate = 1e-3
    options.margin = 0.5
    options.checkpointEvery = 3
    options.seed = 9
    return options
}

@Suite("Training")
struct TrainerTests {
    @Test func lossFallsOnSeparableClasses() throws {
        let path = temporaryPath("model")
        defer { try? FileManager.default.removeItem(atPath: path + ".checkpoint") }
        var losses: [Float] = []
        _ = try Trainer(options: smallOptions(steps: 40), images: syntheticImages(), checkpointPath: path + ".checkpoint")
            .run(resume: false) { losses.append($0.statistics.loss) }
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        #expect(last < 0.5 * first, "loss went from \(first) to \(last)")
    }

    @Test func resumedRunRepeatsTheUninterruptedOne() throws {
        let images = syntheticImages()
        let whole = temporaryPath("whole"), split = temporaryPath("split")
        defer { for p in [whole, split] { try? FileManager.default.removeItem(atPath: p) } }
        var uninterrupted: [Float] = []
        let modelA = try Trainer(options: smallOptions(steps: 6), images: images, checkpointPath: whole)
            .run(resume: false) { uninterrupted.append($0.statistics.loss) }
        var firstHalf: [Float] = [], secondHalf: [Float] = []
        _ = try Trainer(options: smallOptions(steps: 3), images: images, checkpointPath: split)
            .run(resume: false) { firstHalf.append($0.statistics.loss) }
        let modelB = try Trainer(options: smallOptions(steps: 6), images: images, checkpointPath: split)
            .run(resume: true) { secondHalf.append($0.statistics.loss) }
        #expect(firstHalf + secondHalf == uninterrupted)
        #expect(modelA.fingerprint == modelB.fingerprint)
    }

    @Test func resumeRefusesOtherOptions() throws {
        let images = syntheticImages()
        let path = temporaryPath("ckpt")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try Trainer(options: smallOptions(steps: 3), images: images, checkpointPath: path).run(resume: false)
        var other = smallOptions(steps: 6)
        other.margin = 0.2
        #expect(throws: CheckpointError.self) { try Trainer(options: other, images: images, checkpointPath: path).run(resume: true) }
        #expect(throws: CheckpointError.self) { try Trainer(options: other, images: images, checkpointPath: path + "-none").run(resume: true) }
    }

    @Test func divergenceStopsAndKeepsTheLastGoodCheckpoint() throws {
        let path = temporaryPath("diverge")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = smallOptions(steps: 50)
        // Adam moves every weight by about lr: at 1e38 the next forward pass overflows to inf − inf.
        options.learningRate = 1e38
        options.checkpointEvery = 1
        var thrown: Error?
        do { _ = try Trainer(options: options, images: syntheticImages(), checkpointPath: path).run(resume: false) } catch { thrown = error }
        guard case let .diverged(step, loss, last, _)? = thrown as? TrainingError else {
            Issue.record("expected divergence, got \(String(describing: thrown))")
            return
        }
        #expect(!loss.isFinite && last == step - 1)
        #expect("\(thrown!)".contains("Lower --lr"))
        #expect(try SafeTensorsFile.read(from: path).metadata["akin.checkpoint.step"] == String(step - 1))
    }

    @Test func savedModelReloadsAndEmbedsIdentically() throws {
        let images = syntheticImages(perClass: 5)
        let path = temporaryPath("model.safetensors")
        defer { for p in [path, path + ".checkpoint"] { try? FileManager.default.removeItem(atPath: p) } }
        let model = try Trainer(options: smallOptions(steps: 2), images: images, checkpointPath: path + ".checkpoint").run(resume: false)
        try model.save(to: path)
        let loaded = try EmbeddingModel.load(from: path)
        #expect(loaded.fingerprint == model.fingerprint)
        #expect(loaded.preprocessing == model.preprocessing && loaded.distance == model.distance)
        let a = try model.embed(images, batchSize: 4), b = try loaded.embed(images, batchSize: 7)
        #expect(a.shape == [15, 8])
        #expect(zip(a.array, b.array).allSatisfy { abs($0 - $1) < 1e-6 })
        for row in 0..<15 {
            let norm = (0..<8).reduce(Float(0)) { $0 + a[row * 8 + $1] * a[row * 8 + $1] }
            #expect(abs(norm - 1) < 1e-5)
        }
    }
}
