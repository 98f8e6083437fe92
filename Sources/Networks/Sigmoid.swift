import Foundation
import Tensors

/// y = 1 / (1 + e^−x), the gate of squeeze-and-excitation blocks; dy/dx = y (1 − y).
public final class Sigmoid: Layer {
    public var needsInputGradient = true
    public var parameters: [Parameter] { [] }
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()
    private var lastOutput: Tensor?

    public init() {}

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ input: Tensor) -> Tensor {
        let result = output.tensor(shape: input.shape)
        let x = input.pointer, y = result.pointer
        // Written so that neither branch overflows: e^−|x| ≤ 1.
        for i in 0..<input.count {
            let e = expf(-Swift.abs(x[i]))
            y[i] = x[i] >= 0 ? 1 / (1 + e) : e / (1 + e)
        }
        lastOutput = result
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard needsInputGradient, let lastOutput else { return nil }
        let result = inputGradient.tensor(shape: outputGradient.shape)
        let y = lastOutput.pointer, g = outputGradient.pointer, dx = result.pointer
        for i in 0..<result.count { dx[i] = g[i] * y[i] * (1 - y[i]) }
        return result
    }
}
