import Tensors

extension KMeans {
    /// The same clustering in plain loops and Double arithmetic, each distance computed directly
    /// as Σ (x − c)²: the fast path's reference on small data. Seeding is shared (it is plain loops already).
    public func referenceFit(_ points: Tensor) -> KMeansResult {
        checkShape(points)
        var generator = RandomGenerator(seed: seed)
        var best: KMeansResult?
        for _ in 0..<restarts {
            let run = referenceRefine(points, from: Self.plusPlusCentroids(points, clusters: clusters, generator: &generator))
            if best == nil || run.inertia < best!.inertia { best = run }
        }
        return best!
    }

    /// Reference Lloyd iterations from given centroids.
    public func referenceRefine(_ points: Tensor, from initial: Tensor) -> KMeansResult {
        checkShape(points)
        let n = points.shape[0], d = points.shape[1], k = clusters
        precondition(initial.shape == [k, d], "initial centroids must be [\(k), \(d)], got \(initial.shape)")
        let x = (0..<n).map { i in (0..<d).map { Double(points[i * d + $0]) } }
        var centroids = (0..<k).map { j in (0..<d).map { Double(initial[j * d + $0]) } }
        var assignments = [Int](repeating: -1, count: n)
        var distances = [Double](repeating: 0, count: n)
        let shiftTolerance = absoluteTolerance(points)

        func assign() -> (changed: Int, inertia: Double) {
            var changed = 0, inertia = 0.0
            for i in 0..<n {
                var best = 0, bestDistance = Double.infinity
                for j in 0..<k {
                    var distance = 0.0
                    for t in 0..<d { distance += (x[i][t] - centroids[j][t]) * (x[i][t] - centroids[j][t]) }
                    if distance < bestDistance { best = j; bestDistance = distance }
                }
                if assignments[i] != best { changed += 1 }
                assignments[i] = best
                distances[i] = bestDistance
                inertia += bestDistance
            }
            return (changed, inertia)
        }

        func update() -> Double {
            var counts = [Int](repeating: 0, count: k)
            var sums = [Double](repeating: 0, count: k * d)
            for i in 0..<n {
                counts[assignments[i]] += 1
                for t in 0..<d { sums[assignments[i] * d + t] += x[i][t] }
            }
            Self.relocateEmptyClusters(points, assignments: &assignments, distances: distances,
                                       counts: &counts, sums: &sums)
            var shift = 0.0
            for j in 0..<k where counts[j] > 0 {
                for t in 0..<d {
                    let value = sums[j * d + t] / Double(counts[j])
                    shift += (value - centroids[j][t]) * (value - centroids[j][t])
                    centroids[j][t] = value
                }
            }
            return shift
        }

        var inertia = assign().inertia
        var iterations = 0
        while iterations < maxIterations {
            iterations += 1
            let shift = update()
            let step = assign()
            inertia = step.inertia
            if step.changed == 0 || shift <= shiftTolerance { break }
        }
        return KMeansResult(centroids: Tensor(shape: [k, d], values: centroids.flatMap { $0.map(Float.init) }),
                            assignments: assignments, inertia: inertia, iterations: iterations)
    }
}
