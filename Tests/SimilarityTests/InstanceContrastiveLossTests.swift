import Foundation
import Similarity
import Tensors
import Testing
import TestSupport

@Suite("Instance-contrastive (NT-Xent) loss")
struct InstanceContrastiveLossTests {
    @Test(arguments: [[Int32]([0, 0, 1, 1, 2, 2, 3, 3]), [0, 1, 2, 0, 1, 2, 0, 1]])
    func matchesReferenceAndFiniteDifferences(labels: [Int32]) {
        var generator = RandomGenerator(seed: 41)
        let embeddings = Tensor(shape: [labels.count, 5])
        for i in 0..<embeddings.count { embeddings[i] = generator.nextFloat() * 2 - 1 }
        let loss = InstanceContrastiveLoss(temperature: 0.2)
        let gradient = Tensor(shape: embeddings.shape)
        let value = loss.evaluate(embeddings: embeddings, labels: labels, gradient: gradient).loss
        func reference() -> Double {
            ReferenceInstanceContrastiveLoss.loss(embeddings: embeddings.array, labels: labels, dimension: 5, temperature: 0.2)
        }
        #expect(abs(Double(value) - reference()) < 1e-5 * max(1, reference()))
        expectMatchesFiniteDifferences(embeddings, analytic: gradient.array, reference: reference)
    }

    /// pytorch-metric-learning's NTXentLoss (scripts/make_pml_fixtures.py).
    @Test func matchesPytorchMetricLearning() throws {
        let fixture = try Fixture.json("pml_ntxent.json")
        let b = fixture["batch"] as! Int, d = fixture["dimension"] as! Int
        let embeddings = Tensor(shape: [b, d], values: Fixture.floats(fixture["embeddings"]))
        let loss = InstanceContrastiveLoss(temperature: (fixture["temperature"] as! NSNumber).floatValue)
        for item in fixture["cases"] as! [[String: Any]] {
            let gradient = Tensor(shape: [b, d])
            let value = loss.evaluate(embeddings: embeddings, labels: Fixture.ints(item["labels"]).map(Int32.init), gradient: gradient).loss
            let expected = (item["loss"] as! NSNumber).floatValue
            #expect(abs(value - expected) < 1e-5 * max(1, expected), "\(item["name"]!): \(value) vs \(expected)")
            for (i, (ours, theirs)) in zip(gradient.array, Fixture.floats(item["gradient"])).enumerated() {
                #expect(abs(ours - theirs) < 1e-5, "\(item["name"]!) gradient \(i): \(ours) vs \(theirs)")
            }
        }
    }

    @Test func trainingWithTwoViewsLearnsAndNeedsEvenK() throws {
        let images = syntheticImages()
        var options = minedOptions(steps: 30)
        options.instanceWeight = 0.5
        options.schedule = .constant
        let path = temporaryPath("instance")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var losses: [Float] = []
        _ = try Trainer(options: options, images: images, checkpointPath: path).run(resume: false) { losses.append($0.statistics.loss) }
        let first: Float = losses.prefix(5).reduce(0, +), last: Float = losses.suffix(5).reduce(0, +)
        #expect(last < 0.7 * first, "loss \(first / 5) → \(last / 5)")

        options.imagesPerClass = 5
        #expect(throws: TrainingOptionsError.instanceViews(imagesPerClass: 5)) {
            _ = try Trainer(options: options, images: images, checkpointPath: temporaryPath("odd")).run(resume: false)
        }
    }
}
