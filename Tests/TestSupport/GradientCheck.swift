import Networks
import Tensors
import Testing

/// Central finite differences of L = Σ r ⊙ f(x), compared with the analytic gradients a layer's
/// backward pass gives for upstream gradient r. Sums in Double to keep Float32 rounding out of it.
public struct GradientCheck {
    public var generator = RandomGenerator(seed: 7)
    public var step: Float = 1e-2
    public var tolerance: Float = 2e-2
    public var samples = 24

    public init() {}

    public mutating func randomTensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        let tensor = Tensor(shape: shape)
        for i in 0..<tensor.count { tensor[i] = (generator.nextFloat() * 2 - 1) * scale }
        return tensor
    }

    private func loss(_ output: Tensor, _ upstream: Tensor) -> Double {
        var sum = 0.0
        for i in 0..<output.count { sum += Double(output[i]) * Double(upstream[i]) }
        return sum
    }

    /// Checks d L / d input and d L / d every parameter of `layer` at `input`.
    public mutating func check(_ layer: Layer, input: Tensor, sourceLocation: SourceLocation = #_sourceLocation) throws {
        layer.needsInputGradient = true
        let output = try layer.forward(input)
        let upstream = randomTensor(output.shape)
        let inputGradient = try layer.backward(upstream)!.clone()
        let parameterGradients = layer.parameters.map { $0.gradient.clone() }

        func numeric(_ tensor: Tensor, _ index: Int) throws -> Float {
            let saved = tensor[index]
            tensor[index] = saved + step
            let plus = loss(try layer.forward(input), upstream)
            tensor[index] = saved - step
            let minus = loss(try layer.forward(input), upstream)
            tensor[index] = saved
            return Float((plus - minus) / Double(2 * step))
        }
        func compare(_ tensor: Tensor, _ analytic: Tensor, _ what: String) throws {
            for _ in 0..<samples {
                let index = generator.nextInt(below: tensor.count)
                let expected = try numeric(tensor, index)
                let got = analytic[index]
                let scale = max(1, abs(expected), abs(got))
                #expect(abs(expected - got) <= tolerance * scale,
                        "\(what)[\(index)]: finite difference \(expected), backward \(got)", sourceLocation: sourceLocation)
            }
        }
        try compare(input, inputGradient, "input")
        for (parameter, gradient) in zip(layer.parameters, parameterGradients) {
            try compare(parameter.value, gradient, parameter.name)
        }
    }
}
