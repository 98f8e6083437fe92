import Foundation
import Images
import Similarity
import Tensors
import TestSupport
import Testing

@Suite("Normalised softmax over class proxies")
struct ProxySoftmaxLossTests {
    func fixture(margin: Float) -> (ProxySoftmaxLoss, Tensor, [Int32]) {
        var generator = RandomGenerator(seed: 12)
        let loss = ProxySoftmaxLoss(classes: 4, dimension: 5, temperature: 0.3, margin: margin, generator: &generator)
        let embeddings = Tensor(shape: [7, 5])
        for i in 0..<embeddings.count { embeddings[i] = generator.nextFloat() * 2 - 1 }
        return (loss, embeddings, [0, 1, 2, 3, 1, 2, 0])
    }

    @Test(arguments: [Float(0), 0.2])
    func matchesReferenceAndFiniteDifferences(margin: Float) {
        let (loss, embeddings, labels) = fixture(margin: margin)
        let gradient = Tensor(shape: embeddings.shape)
        let value = loss.evaluate(embeddings: embeddings, labels: labels, gradient: gradient).loss
        func reference() -> Double {
            ReferenceProxySoftmaxLoss.loss(embeddings: embeddings.array, proxies: loss.proxies.value.array, labels: labels,
                                           dimension: 5, temperature: 0.3, margin: Double(margin))
        }
        #expect(abs(Double(value) - reference()) < 1e-5)
        for (tensor, analytic) in [(embeddings, gradient.array), (loss.proxies.value, loss.proxies.gradient.array)] {
            expectMatchesFiniteDifferences(tensor, analytic: analytic, reference: reference)
        }
    }

    @Test func trainingWithProxiesSeparatesClassesAndResumesExactly() throws {
        let images = syntheticImages()
        var options = minedOptions(steps: 30)
        options.loss = .normalizedSoftmax
        options.temperature = 0.1
        options.schedule = .constant
        try expectLearnsAndResumesExactly(options, images: images, name: "proxy")
    }

    @Test func proxyTermBesideTripletsIsWeightedLearnsAndResumesExactly() throws {
        let images = syntheticImages()
        var options = minedOptions(steps: 30)
        options.schedule = .constant
        // The first step sees the same embeddings whatever the weight: its loss is linear in it.
        func firstLoss(weight: Float) throws -> Float {
            var o = options
            o.steps = 1
            o.proxyWeight = weight
            let path = temporaryPath("proxy-weight-\(weight)")
            defer { try? FileManager.default.removeItem(atPath: path) }
            var loss: Float = .nan
            _ = try Trainer(options: o, images: images, checkpointPath: path).run(resume: false) { loss = $0.statistics.loss }
            return loss
        }
        let plain = try firstLoss(weight: 0), half = try firstLoss(weight: 0.5), full = try firstLoss(weight: 1)
        #expect(full - plain > 0.1, "the proxy term adds to the triplet loss: \(plain) → \(full)")
        #expect(abs((full - plain) - 2 * (half - plain)) < 1e-4 * max(1, full), "weights 0, 0.5, 1: \(plain), \(half), \(full)")

        options.proxyWeight = 0.5
        try expectLearnsAndResumesExactly(options, images: images, name: "aux-proxy")
    }

    /// The loss halves over the run, and stopping half way then resuming gives the same losses and
    /// model: the proxies and their optimizer state come back from the checkpoint.
    func expectLearnsAndResumesExactly(_ options: TrainingOptions, images: ImageSet, name: String) throws {
        let whole = temporaryPath("\(name)-whole"), split = temporaryPath("\(name)-split")
        defer { for p in [whole, split] { try? FileManager.default.removeItem(atPath: p) } }
        var losses: [Float] = []
        let a = try Trainer(options: options, images: images, checkpointPath: whole).run(resume: false) { losses.append($0.statistics.loss) }
        let first: Float = losses.prefix(5).reduce(0, +), last: Float = losses.suffix(5).reduce(0, +)
        #expect(last < 0.5 * first, "loss \(first / 5) → \(last / 5)")
        var half = options
        half.steps = options.steps / 2
        var resumed: [Float] = []
        _ = try Trainer(options: half, images: images, checkpointPath: split).run(resume: false) { resumed.append($0.statistics.loss) }
        let b = try Trainer(options: options, images: images, checkpointPath: split).run(resume: true) { resumed.append($0.statistics.loss) }
        #expect(resumed == losses && a.fingerprint == b.fingerprint, "the proxies and their optimizer state come back from the checkpoint")
    }
}
