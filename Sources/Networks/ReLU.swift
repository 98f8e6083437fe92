import Tensors

public final class ReLU: Layer {
    public var needsInputGradient = true
    public var parameters: [Parameter] { [] }
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()
    private var lastOutput: Tensor?

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor) -> Tensor {
        let result = output.tensor(shape: input.shape)
        Elementwise.relu(input.pointer, result.pointer, count: input.count)
        lastOutput = result
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard needsInputGradient, let lastOutput else { return nil }
        let result = inputGradient.tensor(shape: outputGradient.shape)
        Elementwise.reluBackward(output: lastOutput.pointer, outputGradient: outputGradient.pointer,
                                 inputGradient: result.pointer, count: result.count)
        return result
    }
}
