import TestSupport
import Foundation
import Similarity
import Tensors
import Testing

@Suite("Triplet loss")
struct TripletLossTests {
    func randomEmbeddings(batch: Int, dimension: Int, seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        let t = Tensor(shape: [3 * batch, dimension])
        for i in 0..<t.count { t[i] = generator.nextFloat() * 2 - 1 }
        return t
    }

    @Test(arguments: Distance.allCases)
    func gradientMatchesFiniteDifferences(distance: Distance) {
        let b = 6, d = 5
        let embeddings = randomEmbeddings(batch: b, dimension: d, seed: 3)
        let loss = TripletLoss(margin: 0.5, distance: distance)
        let gradient = Tensor(shape: embeddings.shape)
        _ = loss.evaluate(embeddings: embeddings, gradient: gradient)
        let analytic = gradient.clone()
        let scratch = Tensor(shape: embeddings.shape)
        let h: Float = 1e-3
        for index in 0..<embeddings.count {
            let saved = embeddings[index]
            embeddings[index] = saved + h
            let plus = Double(loss.evaluate(embeddings: embeddings, gradient: scratch).loss)
            embeddings[index] = saved - h
            let minus = Double(loss.evaluate(embeddings: embeddings, gradient: scratch).loss)
            embeddings[index] = saved
            let numeric = Float((plus - minus) / Double(2 * h))
            #expect(abs(numeric - analytic[index]) <= 2e-2 * max(0.1, abs(numeric)), "\(distance) [\(index)]: \(numeric) vs \(analytic[index])")
        }
    }

    @Test(arguments: Distance.allCases)
    func matchesNumpyAndStaysFiniteWhenAnchorEqualsPositive(distance: Distance) throws {
        let fixture = try Fixture.json("numpy_triplet.json")
        let b = fixture["batch"] as! Int, d = fixture["dimension"] as! Int
        let values = Fixture.floats(fixture["embeddings"])
        let embeddings = Tensor(shape: [3 * b, d], values: values)
        let gradient = Tensor(shape: [3 * b, d])
        let stats = TripletLoss(margin: 0.5, distance: distance).evaluate(embeddings: embeddings, gradient: gradient)
        let expected = fixture[distance.rawValue] as! [String: Double]
        #expect(abs(Double(stats.loss) - expected["loss"]!) < 1e-5)
        #expect(abs(Double(stats.activeFraction) - expected["active_fraction"]!) < 1e-6)
        #expect(abs(Double(stats.meanPositiveDistance) - expected["mean_positive_distance"]!) < 1e-5)
        #expect(abs(Double(stats.meanNegativeDistance) - expected["mean_negative_distance"]!) < 1e-5)
        #expect(gradient.array.allSatisfy { $0.isFinite })
        #expect(abs(ReferenceTripletLoss.loss(values, batch: b, dimension: d, margin: 0.5, distance: distance) - expected["loss"]!) < 1e-6)
    }

    @Test func samplerKeepsTheSeedsRules() {
        let labels: [Int32] = [0, 0, 0, 1, 1, 2, 2, 2, 3]  // class 3 has one image: never an anchor
        let sampler = RandomTripletSampler(labels: labels, classCount: 4)
        var generator = RandomGenerator(seed: 5)
        var indices: [Int] = []
        sampler.sample(batch: 200, using: &generator, into: &indices)
        #expect(indices.count == 600)
        for i in 0..<200 {
            let a = indices[i], p = indices[200 + i], n = indices[400 + i]
            #expect(a != p && labels[a] == labels[p] && labels[n] != labels[a] && labels[a] != 3)
        }
        #expect(Set(indices[400..<600].map { labels[$0] }).contains(3))
    }
}
