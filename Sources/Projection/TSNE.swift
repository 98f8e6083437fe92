import Foundation
import Tensors

/// t-SNE's settings; the defaults are scikit-learn's (1.2+): perplexity 30, early exaggeration 12
/// for 250 iterations, learning rate max(N / 12 / 4, 50), PCA initialisation, 1000 iterations.
public struct TSNEOptions: Sendable, Equatable {
    public var perplexity: Double = 30
    public var iterations: Int = 1000
    /// Barnes-Hut accuracy: a quadtree cell stands for its points when width / distance < theta.
    public var theta: Double = 0.5
    public var earlyExaggeration: Double = 12
    public var exaggerationIterations: Int = 250
    /// nil: scikit-learn's "auto", max(N / earlyExaggeration / 4, 50).
    public var learningRate: Double?
    /// scikit-learn's early stop: every 50 iterations the KL divergence is computed; after the
    /// exaggeration phase, the run stops once it has not improved for this many iterations...
    public var iterationsWithoutProgress: Int = 300
    /// ...or as soon as the gradient's norm is at most this.
    public var minGradientNorm: Double = 1e-7

    public init(perplexity: Double = 30, iterations: Int = 1000, theta: Double = 0.5) {
        self.perplexity = perplexity
        self.iterations = iterations
        self.theta = theta
    }
}

/// A 2-D t-SNE map: N rows of (x, y), and the Kullback-Leibler divergence it reached.
public struct TSNEResult: Sendable {
    public var points: [Double]
    public var divergence: Double
    /// The perplexity used: the one asked for, lowered to (N − 1) / 3 for small sets.
    public var perplexity: Double
    /// The iterations run: fewer than asked when the early stop ended the run.
    public var iterations: Int
}

/// t-distributed stochastic neighbour embedding (van der Maaten & Hinton 2008) in O(N log N) per
/// iteration: affinities from exact nearest neighbours (sparse), attraction along them, repulsion
/// by Barnes-Hut over a quadtree (van der Maaten 2014). `TSNE.exact` is the O(N²) reference.
public enum TSNE {
    public static func embed(_ x: Tensor, options: TSNEOptions = TSNEOptions(),
                             progress: (Int, Int) -> Void = { _, _ in }) throws(ProjectionError) -> TSNEResult {
        let (n, perplexity) = try check(x, options)
        let p = SparseAffinities.nearestNeighbours(x, perplexity: perplexity)
        let gradient = BarnesHutGradient(affinities: p, theta: options.theta)
        var y = try initialPositions(x)
        let iterations = optimise(&y, n: n, options: options, progress: progress) { y, exaggeration, grad, withError in
            let z = gradient.computeReturningZ(y, exaggeration: exaggeration, into: grad)
            return withError ? gradient.divergence(y, z: z) : nil
        }
        let divergence = y.withUnsafeBufferPointer { gradient.divergence($0.baseAddress!) }
        return TSNEResult(points: y, divergence: divergence, perplexity: perplexity, iterations: iterations)
    }

    /// The plain O(N²) version: dense affinities over every pair, exact gradient. For tests and small N.
    public static func exact(_ x: Tensor, options: TSNEOptions = TSNEOptions()) throws(ProjectionError) -> TSNEResult {
        let (n, perplexity) = try check(x, options)
        let p = ExactAffinities.compute(x, perplexity: perplexity)
        var y = try initialPositions(x)
        let iterations = optimise(&y, n: n, options: options, progress: { _, _ in }) { y, exaggeration, grad, withError in
            ExactGradient.compute(p, y, n: n, exaggeration: exaggeration, into: grad)
            return withError ? ExactGradient.divergence(p, Array(UnsafeBufferPointer(start: y, count: 2 * n)), n: n) : nil
        }
        return TSNEResult(points: y, divergence: ExactGradient.divergence(p, y, n: n), perplexity: perplexity, iterations: iterations)
    }

    static func check(_ x: Tensor, _ options: TSNEOptions) throws(ProjectionError) -> (Int, Double) {
        precondition(x.shape.count == 2, "t-SNE takes [N, D] vectors")
        let n = x.shape[0]
        guard n >= 4 else { throw .tooFewPoints(needed: 4, got: n, method: "t-SNE") }
        guard options.perplexity > 0, options.iterations >= 1, options.theta >= 0 else {
            throw .invalidOption("t-SNE needs a positive perplexity, at least one iteration and theta ≥ 0")
        }
        for i in 0..<x.count where !x.pointer[i].isFinite { throw .notFinite(row: i / x.shape[1]) }
        return (n, min(options.perplexity, Double(n - 1) / 3))
    }

    /// scikit-learn's PCA initialisation: the first two principal coordinates, scaled so the first
    /// has standard deviation 1e-4.
    static func initialPositions(_ x: Tensor) throws(ProjectionError) -> [Double] {
        let n = x.shape[0]
        let components = min(2, x.shape[1])
        var y = try PCA.fit(x, components: components).project(x)
        if components == 1 { y = y.flatMap { [$0, 0] } }
        var mean = 0.0, squares = 0.0
        for i in 0..<n { mean += y[2 * i] }
        mean /= Double(n)
        for i in 0..<n { squares += (y[2 * i] - mean) * (y[2 * i] - mean) }
        let std = (squares / Double(n)).squareRoot()
        let scale = std > 0 ? 1e-4 / std : 1
        return y.map { $0 * scale }
    }

    /// Gradient descent with momentum and per-coordinate gains (delta-bar-delta), as scikit-learn's
    /// `_gradient_descent`: momentum 0.5 and exaggerated P first, then momentum 0.8, checking every
    /// 50 iterations whether to stop early (see `TSNEOptions.iterationsWithoutProgress`).
    /// `gradient` fills the gradient and, when asked, returns the KL divergence at the same positions.
    /// Returns the number of iterations run.
    static func optimise(_ y: inout [Double], n: Int, options: TSNEOptions, progress: (Int, Int) -> Void,
                         gradient: (UnsafePointer<Double>, Double, UnsafeMutablePointer<Double>, Bool) -> Double?) -> Int {
        let rate = options.learningRate ?? max(Double(n) / options.earlyExaggeration / 4, 50)
        let checkEvery = 50
        var update = [Double](repeating: 0, count: 2 * n), gains = [Double](repeating: 1, count: 2 * n)
        var grad = [Double](repeating: 0, count: 2 * n)
        let exaggerated = min(options.exaggerationIterations, options.iterations)
        var bestError = Double.infinity, bestIteration = exaggerated
        for iteration in 0..<options.iterations {
            let early = iteration < exaggerated
            let momentum = early ? 0.5 : 0.8
            let check = !early && (iteration + 1) % checkEvery == 0
            let error = y.withUnsafeBufferPointer { yb in grad.withUnsafeMutableBufferPointer { g in
                gradient(yb.baseAddress!, early ? options.earlyExaggeration : 1, g.baseAddress!, check)
            } }
            var squaredNorm = 0.0
            y.withUnsafeMutableBufferPointer { y in update.withUnsafeMutableBufferPointer { update in
            gains.withUnsafeMutableBufferPointer { gains in grad.withUnsafeBufferPointer { grad in
                for c in 0..<(2 * n) {
                    let increase = update[c] * grad[c] < 0
                    gains[c] = max(increase ? gains[c] + 0.2 : gains[c] * 0.8, 0.01)
                    update[c] = momentum * update[c] - rate * gains[c] * grad[c]
                    y[c] += update[c]
                    squaredNorm += grad[c] * grad[c]
                }
            } } } }
            if iteration % 10 == 9 || iteration == options.iterations - 1 { progress(iteration + 1, options.iterations) }
            // Only the second phase stops early: in scikit-learn's first phase the limit on
            // iterations without progress is the phase's length, and a gradient norm under 1e-7
            // would end only the phase.
            if check, let error {
                if error < bestError {
                    bestError = error
                    bestIteration = iteration
                } else if iteration - bestIteration > options.iterationsWithoutProgress {
                    progress(options.iterations, options.iterations)
                    return iteration + 1
                }
                if squaredNorm.squareRoot() <= options.minGradientNorm {
                    progress(options.iterations, options.iterations)
                    return iteration + 1
                }
            }
        }
        return options.iterations
    }
}
