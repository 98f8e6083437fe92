import Networks
import Similarity
import Tensors
import Testing

/// Losses composed as pytorch-metric-learning composes them: Σ wᵢ·lossᵢ, each term's gradient and
/// its own parameters' gradients scaled by its weight, the first term's statistics kept.
@Suite("WeightedLossSum")
struct WeightedLossSumTests {
    let labels: [Int32] = [0, 0, 1, 1, 2, 2, 3, 3]

    func embeddings() -> Tensor {
        var generator = RandomGenerator(seed: 11)
        let x = Tensor(shape: [8, 4])
        for i in 0..<x.count { x[i] = generator.nextGaussian() }
        return x
    }

    func proxies() -> ProxySoftmaxLoss {
        var generator = RandomGenerator(seed: 5)
        return ProxySoftmaxLoss(classes: 4, dimension: 4, temperature: 0.1, margin: 0, generator: &generator)
    }

    @Test func addsWeightedTermsAndScalesTheirParameters() {
        let x = embeddings()
        let ms = MultiSimilarityLoss(), alone = proxies(), inSum = proxies()
        let g1 = Tensor(shape: [8, 4]), g2 = Tensor(shape: [8, 4]), g = Tensor(shape: [8, 4])
        let s1 = ms.evaluate(embeddings: x, labels: labels, gradient: g1)
        let s2 = alone.evaluate(embeddings: x, labels: labels, gradient: g2)

        let sum = WeightedLossSum([.init(ms), .init(inSum, weight: 0.5)])
        #expect(sum.parameters.map(\.name) == ["loss.proxies"])
        let s = sum.evaluate(embeddings: x, labels: labels, gradient: g)
        #expect(abs(s.loss - (s1.loss + 0.5 * s2.loss)) < 1e-6)
        #expect(s.activeFraction == s1.activeFraction && s.meanPositiveDistance == s1.meanPositiveDistance)
        for i in 0..<g.count { #expect(abs(g[i] - (g1[i] + 0.5 * g2[i])) < 1e-6) }
        for i in 0..<alone.proxies.gradient.count { #expect(abs(inSum.proxies.gradient[i] - 0.5 * alone.proxies.gradient[i]) < 1e-7) }
    }

    @Test func weighsTheFirstTermAndTakesATermsOwnLabels() {
        let x = embeddings()
        let ms = MultiSimilarityLoss(), g1 = Tensor(shape: [8, 4]), g = Tensor(shape: [8, 4])
        let s1 = ms.evaluate(embeddings: x, labels: labels, gradient: g1)
        let s = WeightedLossSum([.init(ms, weight: 2)]).evaluate(embeddings: x, labels: labels, gradient: g)
        #expect(abs(s.loss - 2 * s1.loss) < 1e-6)
        for i in 0..<g.count { #expect(abs(g[i] - 2 * g1[i]) < 1e-6) }

        // A term with its own labels (the instance term's views) ignores the batch's.
        let views: [Int32] = [0, 0, 1, 1, 2, 2, 3, 3].reversed()
        let own = WeightedLossSum([.init(ms, labels: views)]).evaluate(embeddings: x, labels: [0, 1, 2, 3, 0, 1, 2, 3], gradient: g)
        #expect(own == ms.evaluate(embeddings: x, labels: views, gradient: g1))
    }
}
