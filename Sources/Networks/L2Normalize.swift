import Tensors

/// Scales each row of [N, D] to unit length: y = x / sqrt(|x|² + ε). The ε keeps a zero row finite.
public final class L2Normalize: Layer {
    public static let epsilon: Float = 1e-12
    public var needsInputGradient = true
    public var parameters: [Parameter] { [] }
    private var norms: [Float] = []
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()
    private var lastOutput: Tensor?

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor) -> Tensor {
        precondition(input.shape.count == 2, "L2Normalize expects [N, D], got \(input.shape)")
        let n = input.shape[0], d = input.shape[1]
        let result = output.tensor(shape: input.shape)
        if norms.count != n { norms = [Float](repeating: 0, count: n) }
        for row in 0..<n {
            let x = input.pointer + row * d, y = result.pointer + row * d
            let norm = (Elementwise.dot(x, x, count: d) + Self.epsilon).squareRoot()
            norms[row] = norm
            for j in 0..<d { y[j] = x[j] / norm }
        }
        lastOutput = result
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard needsInputGradient, let y = lastOutput else { return nil }
        let n = y.shape[0], d = y.shape[1]
        let result = inputGradient.tensor(shape: y.shape)
        // dx = (dy − y·(y·dy)) / |x|
        for row in 0..<n {
            let yr = y.pointer + row * d, g = outputGradient.pointer + row * d, dx = result.pointer + row * d
            let projection = Elementwise.dot(yr, g, count: d)
            for j in 0..<d { dx[j] = (g[j] - yr[j] * projection) / norms[row] }
        }
        return result
    }
}

public enum ReferenceL2Normalize {
    public static func forward(_ x: [Float], n: Int, d: Int) -> [Float] {
        var y = x
        for row in 0..<n {
            var sum: Float = 0
            for j in 0..<d { sum += x[row * d + j] * x[row * d + j] }
            let norm = (sum + L2Normalize.epsilon).squareRoot()
            for j in 0..<d { y[row * d + j] = x[row * d + j] / norm }
        }
        return y
    }
}
