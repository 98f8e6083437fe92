import Foundation
import Similarity
import Tensors
import Testing
import TestSupport

@Suite("Multi-similarity loss")
struct MultiSimilarityLossTests {
    @Test(arguments: [Float?.none, 0.1, 0.3])
    func matchesReferenceAndFiniteDifferences(epsilon: Float?) {
        var generator = RandomGenerator(seed: 31)
        let labels: [Int32] = [0, 1, 2, 0, 1, 2, 0, 1, 0]
        let embeddings = Tensor(shape: [labels.count, 6])
        for i in 0..<embeddings.count { embeddings[i] = generator.nextFloat() * 2 - 1 }
        // β 10 rather than 50: random directions sit far below the base, where β 50 leaves negatives no gradient to check.
        let loss = MultiSimilarityLoss(alpha: 2, beta: 10, base: 0.5, epsilon: epsilon)
        let gradient = Tensor(shape: embeddings.shape)
        let statistics = loss.evaluate(embeddings: embeddings, labels: labels, gradient: gradient)
        func reference() -> Double {
            ReferenceMultiSimilarityLoss.loss(embeddings: embeddings.array, labels: labels, dimension: 6,
                                              alpha: 2, beta: 10, base: 0.5, epsilon: epsilon.map(Double.init))
        }
        #expect(abs(Double(statistics.loss) - reference()) < 1e-5)
        #expect(epsilon == nil ? statistics.activeFraction == 1 : statistics.activeFraction < 1)
        expectMatchesFiniteDifferences(embeddings, analytic: gradient.array, reference: reference)
    }

    /// pytorch-metric-learning's MultiSimilarityLoss, alone and after its MultiSimilarityMiner
    /// (scripts/make_pml_fixtures.py).
    @Test func matchesPytorchMetricLearning() throws {
        let fixture = try Fixture.json("pml_multi_similarity.json")
        let b = fixture["batch"] as! Int, d = fixture["dimension"] as! Int
        let labels = Fixture.ints(fixture["labels"]).map(Int32.init)
        let embeddings = Tensor(shape: [b, d], values: Fixture.floats(fixture["embeddings"]))
        let alpha = (fixture["alpha"] as! NSNumber).floatValue, beta = (fixture["beta"] as! NSNumber).floatValue
        let base = (fixture["base"] as! NSNumber).floatValue
        for item in fixture["cases"] as! [[String: Any]] {
            let epsilon = (item["epsilon"] as? NSNumber)?.floatValue
            let loss = MultiSimilarityLoss(alpha: alpha, beta: beta, base: base, epsilon: epsilon)
            let gradient = Tensor(shape: [b, d])
            let statistics = loss.evaluate(embeddings: embeddings, labels: labels, gradient: gradient)
            let expected = (item["loss"] as! NSNumber).floatValue
            #expect(abs(statistics.loss - expected) < 1e-5 * max(1, abs(expected)), "\(item["source"]!): \(statistics.loss) vs \(expected)")
            #expect(statistics.triplets == item["pairs"] as! Int, "\(item["source"]!): pairs kept")
            for (i, (ours, theirs)) in zip(gradient.array, Fixture.floats(item["gradient"])).enumerated() {
                #expect(abs(ours - theirs) < 1e-5, "\(item["source"]!) gradient \(i): \(ours) vs \(theirs)")
            }
        }
    }

    @Test func trainingSeparatesClasses() throws {
        let images = syntheticImages()
        var options = minedOptions(steps: 30)
        options.loss = .multiSimilarity
        options.schedule = .constant
        let path = temporaryPath("multi-similarity")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var losses: [Float] = []
        _ = try Trainer(options: options, images: images, checkpointPath: path).run(resume: false) { losses.append($0.statistics.loss) }
        let first: Float = losses.prefix(5).reduce(0, +), last: Float = losses.suffix(5).reduce(0, +)
        #expect(last < 0.5 * first, "loss \(first / 5) → \(last / 5)")
    }
}
