import Foundation
import Images
import Networks
import Similarity
import Tensors
import Testing

@Suite("Embedding with the pooled features under the projection head")
struct EmbeddingSourceTests {
    @Test func featuresAreTheResNetsPooledOutputAtUnitLength() throws {
        var options = minedOptions(steps: 6)
        options.embeddingSource = .features
        let images = syntheticImages()
        let checkpoint = temporaryPath("features"), file = temporaryPath("features.safetensors")
        defer { for p in [checkpoint, file] { try? FileManager.default.removeItem(atPath: p) } }
        let model = try Trainer(options: options, images: images, checkpointPath: checkpoint).run(resume: false)
        // The loss trained the 8-d head; the model embeds with the 16 channels of the last stage, pooled.
        #expect(model.architecture.outputDimension == 8 && model.embeddingDimension == 16)
        let vectors = try model.embed(images, batchSize: images.count)
        #expect(vectors.shape == [images.count, 16])

        let batch = Tensor(shape: [images.count] + model.architecture.inputShape)
        images.fill(batch.pointer, indices: 0..<images.count, preprocessing: model.preprocessing)
        model.network.isTraining = false
        let pooled = try model.network.layers[0].forward(batch)
        model.network.isTraining = true
        #expect(model.network.layers[0] is ResidualNetwork && pooled.shape == [images.count, 16])
        for row in 0..<images.count {
            let p = Array(pooled.buffer[(row * 16)..<((row + 1) * 16)]), v = Array(vectors.buffer[(row * 16)..<((row + 1) * 16)])
            let norm = p.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(norm > 0 && zip(p, v).allSatisfy { abs($0 / norm - $1) <= 1e-5 }, "row \(row)")
        }

        // The choice travels in the model file.
        try model.save(to: file)
        let loaded = try EmbeddingModel.load(from: file)
        #expect(loaded.architecture.embeddingSource == .features && loaded.embeddingDimension == 16)
        let again = try loaded.embed(images, batchSize: images.count)
        #expect(zip(again.buffer, vectors.buffer).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test func theHeadStaysTheDefaultAndOnlyAHeadCanBeLeftOut() throws {
        var options = TrainingOptions(recipe: .default)
        options.channels = 1
        let head = options.architecture
        // Not written when unset, so models trained before the choice existed keep their fingerprints.
        #expect(head.embeddingSource == nil && head.embeddingDimension == 64)
        #expect(!String(decoding: try JSONEncoder().encode(head), as: UTF8.self).contains("embeddingSource"))
        options.embeddingSource = .features
        #expect(options.architecture.problem == nil && options.architecture.embeddingDimension == 128)
        var seed = Architecture.seed(channels: 1)
        seed.embeddingSource = .features
        #expect(seed.problem?.contains("projection head") == true)
    }
}
