import Tensors

/// [N, C, H, W] → [N, C]: each channel's mean over the image.
public final class GlobalAveragePool: Layer {
    public var needsInputGradient = true
    public var parameters: [Parameter] { [] }
    private var inputShape: [Int] = []
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 4, "GlobalAveragePool expects [N, C, H, W], got \(inputShape)")
        return [inputShape[0], inputShape[1]]
    }

    public func forward(_ input: Tensor) -> Tensor {
        inputShape = input.shape
        let result = output.tensor(shape: outputShape(for: input.shape))
        let plane = input.shape[2] * input.shape[3], scale = 1 / Float(plane)
        for row in 0..<result.count {
            let p = input.pointer + row * plane
            var sum: Float = 0
            for i in 0..<plane { sum += p[i] }
            result.pointer[row] = sum * scale
        }
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard needsInputGradient else { return nil }
        let result = inputGradient.tensor(shape: inputShape)
        let plane = inputShape[2] * inputShape[3], scale = 1 / Float(plane)
        for row in 0..<outputGradient.count {
            let g = outputGradient.pointer[row] * scale, p = result.pointer + row * plane
            for i in 0..<plane { p[i] = g }
        }
        return result
    }
}
