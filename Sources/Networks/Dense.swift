import Tensors

/// y = x·Wᵀ + b for x [N, in], W [out, in], through BLAS.
public final class Dense: Layer {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: Parameter
    public let bias: Parameter
    public var needsInputGradient = true
    private var input: Tensor?
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()

    public init(inputSize: Int, outputSize: Int, name: String) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [outputSize, inputSize]))
        bias = Parameter(name: name + ".bias", value: Tensor(shape: [outputSize]))
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 2 && inputShape[1] == inputSize, "Dense expects [N, \(inputSize)], got \(inputShape)")
        return [inputShape[0], outputSize]
    }

    public func forward(_ input: Tensor) -> Tensor {
        let n = input.shape[0]
        let result = output.tensor(shape: outputShape(for: input.shape))
        for row in 0..<n { (result.pointer + row * outputSize).update(from: bias.value.pointer, count: outputSize) }
        gemm(transposeB: true, m: n, n: outputSize, k: inputSize, a: input.pointer, b: weight.value.pointer,
             beta: 1, c: result.pointer)
        self.input = input
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard let input else { preconditionFailure("Dense.backward before forward") }
        let n = input.shape[0]
        // dW = dyᵀ·x, db = Σ rows of dy, dx = dy·W
        gemm(transposeA: true, m: outputSize, n: inputSize, k: n, a: outputGradient.pointer, b: input.pointer,
             c: weight.gradient.pointer)
        let db = bias.gradient.pointer
        db.update(repeating: 0, count: outputSize)
        for row in 0..<n {
            let g = outputGradient.pointer + row * outputSize
            for j in 0..<outputSize { db[j] += g[j] }
        }
        guard needsInputGradient else { return nil }
        let result = inputGradient.tensor(shape: input.shape)
        gemm(m: n, n: inputSize, k: outputSize, a: outputGradient.pointer, b: weight.value.pointer, c: result.pointer)
        return result
    }
}
