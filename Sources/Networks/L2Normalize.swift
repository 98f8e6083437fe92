import Tensors

/// Scales each row of [N, D] to unit length: y = x / sqrt(|x|² + ε). The ε keeps a zero row finite.
public final class L2Normalize: Layer {
    public static let epsilon: Float = RowNormalization.epsilon
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
        norms.withUnsafeMutableBufferPointer {
            RowNormalization.normalize(input.pointer, into: result.pointer, rows: n, columns: d, norms: $0.baseAddress)
        }
        lastOutput = result
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard needsInputGradient, let y = lastOutput else { return nil }
        let n = y.shape[0], d = y.shape[1]
        let result = inputGradient.tensor(shape: y.shape)
        // dx = (dy − y·(y·dy)) / |x|
        RowNormalization.backward(unit: y.pointer, norms: norms, gradient: outputGradient.pointer, into: result.pointer, rows: n, columns: d)
        return result
    }
}
