import Tensors

/// y = min(max(x, low), high): ReLU6 (0, 6) in MobileNet and EfficientNet-Lite. The gradient
/// passes where low < x < high, as PyTorch's hardtanh and ReLU6 do (none at the bounds).
public final class Clip: Layer {
    public let low: Float
    public let high: Float
    public var needsInputGradient = true
    public var parameters: [Parameter] { [] }
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()
    private var lastInput: Tensor?

    public init(low: Float, high: Float) {
        self.low = low
        self.high = high
    }

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor) -> Tensor {
        let result = output.tensor(shape: input.shape)
        let x = input.pointer, y = result.pointer
        for i in 0..<input.count { y[i] = Swift.min(Swift.max(x[i], low), high) }
        lastInput = input
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard needsInputGradient, let lastInput else { return nil }
        let result = inputGradient.tensor(shape: outputGradient.shape)
        let x = lastInput.pointer, g = outputGradient.pointer, dx = result.pointer
        for i in 0..<result.count { dx[i] = x[i] > low && x[i] < high ? g[i] : 0 }
        return result
    }
}
