import Foundation
import Evaluation
import Search
import Tensors
import Testing

@Suite("k-means")
struct KMeansTests {
    /// `clusters` Gaussian blobs (σ = 0.05) around centres drawn in [-5, 5]^d, points interleaved.
    private func blobs(clusters: Int, perCluster: Int, dimension d: Int, seed: UInt64) -> (Tensor, [Int]) {
        var generator = RandomGenerator(seed: seed)
        let centres = (0..<(clusters * d)).map { _ in 10 * generator.nextFloat() - 5 }
        var values: [Float] = [], labels: [Int] = []
        for i in 0..<(clusters * perCluster) {
            let c = i % clusters
            labels.append(c)
            for t in 0..<d { values.append(centres[c * d + t] + 0.05 * gaussian(&generator)) }
        }
        return (Tensor(shape: [labels.count, d], values: values), labels)
    }

    private func gaussian(_ generator: inout RandomGenerator) -> Float {
        let u = max(generator.nextFloat(), 1e-7), v = generator.nextFloat()
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }

    private func uniform(_ n: Int, _ d: Int, seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor(shape: [n, d], values: (0..<(n * d)).map { _ in generator.nextFloat() })
    }

    @Test func recoversWellSeparatedBlobs() {
        let (points, labels) = blobs(clusters: 6, perCluster: 40, dimension: 5, seed: 11)
        let result = KMeans(clusters: 6, seed: 3).fit(points)
        #expect(MutualInformation.normalizedMutualInformation(labels, result.assignments) == 1)
        #expect(Set(result.assignments).count == 6)
        #expect(RetrievalMetrics.clusteringNMI(vectors: points, labels: labels, seed: 9) == 1)
    }

    @Test func sameSeedSameClustering() {
        let points = uniform(300, 7, seed: 2)
        let a = KMeans(clusters: 5, seed: 42).fit(points), b = KMeans(clusters: 5, seed: 42).fit(points)
        #expect(a.assignments == b.assignments && a.centroids.array == b.centroids.array && a.inertia == b.inertia)
        var g1 = RandomGenerator(seed: 1), g2 = RandomGenerator(seed: 1)
        #expect(KMeans.plusPlusCentroids(points, clusters: 5, generator: &g1).array == KMeans.plusPlusCentroids(points, clusters: 5, generator: &g2).array)
    }

    @Test func eachPointIsOnItsNearestCentroidAndInertiaAddsUp() {
        let points = uniform(200, 3, seed: 8), k = 4
        let result = KMeans(clusters: k, seed: 1).fit(points)
        var inertia = 0.0
        for i in 0..<200 {
            let distances = (0..<k).map { j in (0..<3).reduce(0.0) { s, t in
                let e = Double(points[i * 3 + t] - result.centroids[j * 3 + t]); return s + e * e } }
            #expect(distances[result.assignments[i]] <= distances.min()! + 1e-5)
            inertia += distances[result.assignments[i]]
        }
        #expect(abs(inertia - result.inertia) < 1e-4 * inertia)
    }

    @Test func restartsKeepTheLowestInertia() {
        let points = uniform(150, 2, seed: 4)
        let many = KMeans(clusters: 6, restarts: 8, seed: 5).fit(points)
        var generator = RandomGenerator(seed: 5)
        let single = KMeans(clusters: 6, restarts: 1, seed: 5)
        for _ in 0..<8 {
            let run = single.refine(points, from: KMeans.plusPlusCentroids(points, clusters: 6, generator: &generator))
            #expect(many.inertia <= run.inertia)
        }
    }

    @Test(arguments: [(UInt64(1), 0.0), (2, 1e-4), (3, 0), (4, 1e-4), (5, 0)])
    func fastMatchesReference(seed: UInt64, tolerance: Double) {
        let points = uniform(60, 5, seed: seed)
        let kmeans = KMeans(clusters: 4, restarts: 3, tolerance: tolerance, seed: seed)
        let fast = kmeans.fit(points), reference = kmeans.referenceFit(points)
        #expect(fast.assignments == reference.assignments)
        #expect(fast.iterations == reference.iterations)
        #expect(abs(fast.inertia - reference.inertia) < 1e-4 * reference.inertia)
        for (a, b) in zip(fast.centroids.array, reference.centroids.array) { #expect(abs(a - b) < 1e-5) }
    }

    @Test func emptyClusterTakesTheFarthestPoint() {
        let points = Tensor(shape: [3, 2], values: [0, 0, 1, 0, 10, 0])
        // The second centroid is far from every point: it starts empty, then takes (10, 0).
        let initial = Tensor(shape: [2, 2], values: [0.5, 0, 100, 100])
        for result in [KMeans(clusters: 2).refine(points, from: initial), KMeans(clusters: 2).referenceRefine(points, from: initial)] {
            #expect(result.assignments == [0, 0, 1])
            #expect(result.centroids.array == [0.5, 0, 10, 0])
            #expect(abs(result.inertia - 0.5) < 1e-6)
        }
    }

    @Test func fewerDistinctPointsThanClustersEnds() {
        // Two distinct points, three clusters: one cluster must stay empty, and the run must still end.
        let points = Tensor(shape: [6, 2], values: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        let result = KMeans(clusters: 3, maxIterations: 50, tolerance: 0, seed: 7).fit(points)
        #expect(result.inertia == 0 && result.iterations < 50)
        #expect(result.assignments[0] == result.assignments[1] && result.assignments[3] == result.assignments[5])
        #expect(result.assignments[0] != result.assignments[3])
    }
}
