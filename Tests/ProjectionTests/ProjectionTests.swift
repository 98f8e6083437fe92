import Foundation
import Tensors
import TestSupport
import XCTest
@testable import Projection

final class PCATests: XCTestCase {
    func testMatchesScikitLearn() throws {
        let f = try Fixture.json("sklearn_projection.json")
        let n = f["pca_n"] as! Int, d = f["pca_d"] as! Int
        let x = Tensor(shape: [n, d], values: Fixture.floats(f["pca_x"]))
        let pca = try PCA.fit(x, components: 3)
        let components = (f["pca_components"] as! [NSNumber]).map(\.doubleValue)
        for c in 0..<3 { for j in 0..<d { XCTAssertEqual(pca.components[c][j], components[c * d + j], accuracy: 1e-5, "component \(c)[\(j)]") } }
        let mean = (f["pca_mean"] as! [NSNumber]).map(\.doubleValue)
        for j in 0..<d { XCTAssertEqual(pca.mean[j], mean[j], accuracy: 1e-5) }
        let variance = (f["pca_explained_variance"] as! [NSNumber]).map(\.doubleValue)
        let ratio = (f["pca_explained_variance_ratio"] as! [NSNumber]).map(\.doubleValue)
        for c in 0..<3 {
            XCTAssertEqual(pca.explainedVariance[c], variance[c], accuracy: 1e-4 * variance[c])
            XCTAssertEqual(pca.explainedVarianceRatio[c], ratio[c], accuracy: 1e-5)
        }
        let projected = pca.project(x), expected = (f["pca_projected"] as! [NSNumber]).map(\.doubleValue)
        for i in projected.indices { XCTAssertEqual(projected[i], expected[i], accuracy: 1e-4) }
    }

    func testComponentsAreOrthonormal() throws {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor(shape: [50, 6], values: (0..<300).map { _ in generator.nextGaussian() })
        let pca = try PCA.fit(x, components: 6)
        for a in 0..<6 {
            for b in 0..<6 {
                let dot = zip(pca.components[a], pca.components[b]).map(*).reduce(0, +)
                XCTAssertEqual(dot, a == b ? 1 : 0, accuracy: 1e-9)
            }
        }
        XCTAssertEqual(pca.explainedVarianceRatio.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertEqual(pca.explainedVariance, pca.explainedVariance.sorted(by: >))
    }

    func testBadInputIsATypedError() {
        XCTAssertThrowsError(try PCA.fit(Tensor(shape: [1, 3]), components: 2)) {
            XCTAssertEqual($0 as? ProjectionError, .tooFewPoints(needed: 2, got: 1, method: "PCA"))
        }
        XCTAssertThrowsError(try PCA.fit(Tensor(shape: [5, 3]), components: 4)) {
            XCTAssertEqual($0 as? ProjectionError, .tooManyComponents(requested: 4, dimension: 3))
        }
        let x = Tensor(shape: [3, 2], values: [0, 1, 2, .nan, 4, 5])
        XCTAssertThrowsError(try PCA.fit(x, components: 1)) { XCTAssertEqual($0 as? ProjectionError, .notFinite(row: 1)) }
    }
}

final class AffinityTests: XCTestCase {
    func testExactAffinitiesMatchScikitLearn() throws {
        let f = try Fixture.json("sklearn_projection.json")
        let n = f["tsne_n"] as! Int, d = f["tsne_d"] as! Int
        let x = Tensor(shape: [n, d], values: Fixture.floats(f["tsne_x"]))
        let p = ExactAffinities.compute(x, perplexity: f["tsne_perplexity"] as! Double)
        let expected = (f["tsne_p"] as! [NSNumber]).map(\.doubleValue)
        for i in 0..<(n * n) { XCTAssertEqual(p[i], expected[i], accuracy: 1e-6 * max(expected[i], 1e-3)) }
    }

    /// With every other point as a neighbour, the sparse affinities are the exact ones.
    func testSparseAffinitiesWithAllNeighboursAreExact() {
        var generator = RandomGenerator(seed: 5)
        let n = 25
        let x = Tensor(shape: [n, 4], values: (0..<(n * 4)).map { _ in generator.nextGaussian() })
        let perplexity = Double(n - 2) / 3  // k = ⌊3·perplexity⌋ + 1 = N − 1
        let sparse = SparseAffinities.nearestNeighbours(x, perplexity: perplexity).dense
        let exact = ExactAffinities.compute(x, perplexity: perplexity)
        for i in 0..<n { for j in 0..<n where i != j { XCTAssertEqual(sparse[i * n + j], exact[i * n + j], accuracy: 1e-5 * exact[i * n + j] + 1e-12) } }
        XCTAssertEqual(sparse.reduce(0, +), 1, accuracy: 1e-9)
    }

    func testNearestNeighboursMatchAFullSort() {
        var generator = RandomGenerator(seed: 7)
        let n = 300, d = 5, k = 7
        let x = Tensor(shape: [n, d], values: (0..<(n * d)).map { _ in generator.nextGaussian() })
        let found = NearestNeighbours.compute(x, k: k, blockSize: 64)
        for i in stride(from: 0, to: n, by: 13) {
            var order: [(distance: Float, index: Int)] = []
            for j in 0..<n where j != i {
                var s: Float = 0
                for c in 0..<d { let t = x[i * d + c] - x[j * d + c]; s += t * t }
                order.append((s, j))
            }
            order.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.index < $1.index) }
            let foundRow: [Int] = found.indices[(i * k)..<((i + 1) * k)].map { Int($0) }
            let expectedRow: [Int] = order.prefix(k).map { $0.index }
            XCTAssertEqual(foundRow, expectedRow, "row \(i)")
            for e in 0..<k { XCTAssertEqual(found.squaredDistances[i * k + e], order[e].distance, accuracy: 1e-4) }
        }
    }
}

final class TSNETests: XCTestCase {
    /// Barnes-Hut with theta 0 walks every point: its gradient must equal the reference's.
    func testBarnesHutGradientWithThetaZeroIsExact() {
        var generator = RandomGenerator(seed: 11)
        let n = 40
        let x = Tensor(shape: [n, 3], values: (0..<(n * 3)).map { _ in generator.nextGaussian() })
        let perplexity = Double(n - 2) / 3
        let sparse = SparseAffinities.nearestNeighbours(x, perplexity: perplexity)
        let y = (0..<(2 * n)).map { _ in Double(generator.nextGaussian()) }
        // Two coincident points exercise the shared leaf.
        var yc = y
        yc[2] = yc[0]; yc[3] = yc[1]
        for positions in [y, yc] {
            var fast = [Double](repeating: 0, count: 2 * n), reference = fast
            let bh = BarnesHutGradient(affinities: sparse, theta: 0)
            positions.withUnsafeBufferPointer { p in
                fast.withUnsafeMutableBufferPointer { bh.compute(p.baseAddress!, exaggeration: 3, into: $0.baseAddress!) }
                reference.withUnsafeMutableBufferPointer { ExactGradient.compute(sparse.dense, p.baseAddress!, n: n, exaggeration: 3, into: $0.baseAddress!) }
            }
            for i in 0..<(2 * n) { XCTAssertEqual(fast[i], reference[i], accuracy: 1e-9 + 1e-7 * abs(reference[i])) }
        }
    }

    /// With the usual theta the approximation stays close to the exact gradient.
    func testBarnesHutGradientApproximatesTheExactOne() {
        var generator = RandomGenerator(seed: 13)
        let n = 400
        let x = Tensor(shape: [n, 4], values: (0..<(n * 4)).map { _ in generator.nextGaussian() })
        let sparse = SparseAffinities.nearestNeighbours(x, perplexity: 20)
        let y = (0..<(2 * n)).map { _ in Double(generator.nextGaussian()) * 5 }
        var fast = [Double](repeating: 0, count: 2 * n), reference = fast
        let bh = BarnesHutGradient(affinities: sparse, theta: 0.5)
        y.withUnsafeBufferPointer { p in
            fast.withUnsafeMutableBufferPointer { bh.compute(p.baseAddress!, exaggeration: 1, into: $0.baseAddress!) }
            reference.withUnsafeMutableBufferPointer { ExactGradient.compute(sparse.dense, p.baseAddress!, n: n, exaggeration: 1, into: $0.baseAddress!) }
        }
        let error = zip(fast, reference).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let norm = reference.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertLessThan(error / norm, 0.05)
    }

    /// Gaussian clusters far apart in 10-D stay apart in the map: every point's nearest map
    /// neighbours are of its own cluster, and the clusters' map centres are far apart relative to
    /// their spread.
    func testSeparatedClustersStaySeparated() throws {
        let (x, labels) = Self.clusters(perCluster: 60, count: 4, dimension: 10, seed: 17)
        var options = TSNEOptions(perplexity: 15, iterations: 400)
        options.exaggerationIterations = 100
        let fast = try TSNE.embed(x, options: options)
        let exact = try TSNE.exact(x, options: options)
        for result in [fast, exact] {
            XCTAssertEqual(Self.nearestNeighbourAgreement(result.points, labels), 1.0, accuracy: 1e-12)
            XCTAssertGreaterThan(Self.separation(result.points, labels), 3)
            XCTAssertTrue(result.divergence.isFinite && result.divergence > 0)
        }
        // The two reach similar divergences (they follow the same recipe; BH approximates the repulsion).
        XCTAssertEqual(fast.divergence, exact.divergence, accuracy: 0.25 * exact.divergence)
    }

    func testPCAInitialisationIsDeterministic() throws {
        let (x, _) = Self.clusters(perCluster: 20, count: 3, dimension: 6, seed: 19)
        let options = TSNEOptions(perplexity: 10, iterations: 50)
        XCTAssertEqual(try TSNE.embed(x, options: options).points, try TSNE.embed(x, options: options).points)
    }

    /// scikit-learn's early stop: checked every 50 iterations after the exaggeration phase, never in it.
    func testStopsEarlyOnceTheGradientIsSmall() throws {
        let (x, _) = Self.clusters(perCluster: 30, count: 3, dimension: 6, seed: 23)
        var options = TSNEOptions(perplexity: 10, iterations: 1000)
        options.exaggerationIterations = 100
        options.minGradientNorm = .infinity  // any gradient is small enough: the first check stops
        var asked = options
        asked.minGradientNorm = 0
        asked.iterations = 150
        for (stopped, full) in [(try TSNE.embed(x, options: options), try TSNE.embed(x, options: asked)),
                                (try TSNE.exact(x, options: options), try TSNE.exact(x, options: asked))] {
            // The first check is after iteration 150; stopping there gives what asking for 150 gives.
            XCTAssertEqual(stopped.iterations, 150)
            XCTAssertEqual(full.iterations, 150)
            XCTAssertEqual(stopped.points, full.points)
        }
        options.minGradientNorm = 0
        options.iterations = 300
        XCTAssertEqual(try TSNE.embed(x, options: options).iterations, 300, "no stop without a reason")
    }

    func testTooFewPointsIsATypedError() {
        XCTAssertThrowsError(try TSNE.embed(Tensor(shape: [3, 2]))) {
            XCTAssertEqual($0 as? ProjectionError, .tooFewPoints(needed: 4, got: 3, method: "t-SNE"))
        }
    }

    static func clusters(perCluster: Int, count: Int, dimension: Int, seed: UInt64) -> (Tensor, [Int]) {
        var generator = RandomGenerator(seed: seed)
        var values: [Float] = [], labels: [Int] = []
        for c in 0..<count {
            let centre = (0..<dimension).map { _ in generator.nextGaussian() * 20 }
            for _ in 0..<perCluster {
                values += centre.map { $0 + generator.nextGaussian() }
                labels.append(c)
            }
        }
        return (Tensor(shape: [perCluster * count, dimension], values: values), labels)
    }

    /// Share of points whose nearest other point in the map has their label.
    static func nearestNeighbourAgreement(_ y: [Double], _ labels: [Int]) -> Double {
        let n = labels.count
        var agree = 0
        for i in 0..<n {
            var best = Double.infinity, bestLabel = -1
            for j in 0..<n where j != i {
                let d = pow(y[2 * i] - y[2 * j], 2) + pow(y[2 * i + 1] - y[2 * j + 1], 2)
                if d < best { best = d; bestLabel = labels[j] }
            }
            if bestLabel == labels[i] { agree += 1 }
        }
        return Double(agree) / Double(n)
    }

    /// Smallest distance between two cluster centres over the largest cluster radius (RMS).
    static func separation(_ y: [Double], _ labels: [Int]) -> Double {
        let classes = Set(labels).sorted()
        var centres: [(Double, Double)] = [], radius = 0.0
        for c in classes {
            let members = labels.indices.filter { labels[$0] == c }
            let cx = members.map { y[2 * $0] }.reduce(0, +) / Double(members.count)
            let cy = members.map { y[2 * $0 + 1] }.reduce(0, +) / Double(members.count)
            centres.append((cx, cy))
            let rms = (members.map { pow(y[2 * $0] - cx, 2) + pow(y[2 * $0 + 1] - cy, 2) }.reduce(0, +) / Double(members.count)).squareRoot()
            radius = max(radius, rms)
        }
        var closest = Double.infinity
        for a in centres.indices { for b in centres.indices where a < b {
            closest = min(closest, ((centres[a].0 - centres[b].0) * (centres[a].0 - centres[b].0) + (centres[a].1 - centres[b].1) * (centres[a].1 - centres[b].1)).squareRoot())
        } }
        return closest / radius
    }
}
