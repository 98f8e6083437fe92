import Tensors

/// [N, …] → [N, product of the rest], sharing storage both ways.
public final class Flatten: Layer {
    public var needsInputGradient = true
    public var parameters: [Parameter] { [] }
    private var inputShape: [Int] = []

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { [inputShape[0], inputShape.dropFirst().reduce(1, *)] }

    public func forward(_ input: Tensor) -> Tensor {
        inputShape = input.shape
        return input.reshaped(outputShape(for: input.shape))
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        needsInputGradient ? outputGradient.reshaped(inputShape) : nil
    }
}
