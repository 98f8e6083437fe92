import Similarity
import Tensors
import Testing

@Suite("Pairwise distances")
struct PairwiseDistancesTests {
    /// Rows around a common offset, with row 3 repeating row 0, row 5 a hair away from row 1 and
    /// row 7 near row 2: pairs the l2 Gram form would measure poorly, beside ones it measures well.
    func awkwardBatch() -> Tensor {
        var generator = RandomGenerator(seed: 21)
        let b = 9, d = 7
        let t = Tensor(shape: [b, d])
        for i in 0..<t.count { t[i] = 1 + (generator.nextFloat() * 2 - 1) }
        for c in 0..<d {
            t[3 * d + c] = t[c]
            t[5 * d + c] = t[d + c] + (generator.nextFloat() * 2 - 1) * 1e-3
            t[7 * d + c] = t[2 * d + c] + (generator.nextFloat() * 2 - 1) * 0.05
        }
        return t
    }

    /// The distance in Double, with the same ε.
    func exact(_ distance: Distance, _ e: Tensor, _ i: Int, _ j: Int) -> Double {
        let d = e.shape[1]
        let x = (0..<d).map { Double(e[i * d + $0]) }, y = (0..<d).map { Double(e[j * d + $0]) }
        switch distance {
        case .l2: return (zip(x, y).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) + 1e-12).squareRoot()
        case .cosine:
            let nx = (x.map { $0 * $0 }.reduce(0, +) + 1e-12).squareRoot(), ny = (y.map { $0 * $0 }.reduce(0, +) + 1e-12).squareRoot()
            return 1 - zip(x, y).map(*).reduce(0, +) / (nx * ny)
        }
    }

    @Test(arguments: Distance.allCases)
    func agreesWithDistanceEvaluate(distance: Distance) {
        let e = awkwardBatch()
        let b = e.shape[0], d = e.shape[1]
        let pairwise = PairwiseDistances(distance, embeddings: e)
        for i in 0..<b {
            for j in 0..<b {
                let single = distance.evaluate(e.pointer + i * d, e.pointer + j * d, count: d)
                let value = pairwise[i, j]
                #expect(value == pairwise[j, i])
                #expect(abs(value - single) <= 2e-6 + 1e-5 * abs(single), "\(distance) (\(i), \(j)): \(value) vs \(single)")
                if distance == .l2 {
                    // Close pairs too are measured to a few ulps, not to the Gram form's ≈ 1e-3 here.
                    let truth = exact(distance, e, i, j)
                    #expect(abs(Double(value) - truth) <= 1e-5 * truth, "(\(i), \(j)): \(value) vs \(truth)")
                }
            }
        }
        if distance == .l2 { #expect(pairwise[0, 3] == pairwise[0, 0]) }
    }

    @Test(arguments: Distance.allCases)
    func backwardMatchesPairByPairGradients(distance: Distance) {
        let e = awkwardBatch()
        let b = e.shape[0], d = e.shape[1]
        var generator = RandomGenerator(seed: 4)
        let upstream = (0..<(b * b)).map { _ in generator.nextFloat() * 2 - 1 }
        let pairwise = PairwiseDistances(distance, embeddings: e)
        let gradient = Tensor(shape: e.shape)
        gradient.fill(.nan)  // overwritten, not added to
        pairwise.backward(upstream: upstream, embeddings: e, gradient: gradient)
        let expected = Tensor(shape: e.shape)
        for i in 0..<b {
            for j in 0..<b where j != i {
                distance.accumulateGradient(e.pointer + i * d, e.pointer + j * d, count: d,
                                            distance: distance.evaluate(e.pointer + i * d, e.pointer + j * d, count: d),
                                            scale: upstream[i * b + j], expected.pointer + i * d, expected.pointer + j * d)
            }
        }
        for index in 0..<e.count {
            #expect(abs(gradient[index] - expected[index]) <= 1e-4 * max(1, abs(expected[index])),
                    "\(distance) [\(index)]: \(gradient[index]) vs \(expected[index])")
        }
    }
}
