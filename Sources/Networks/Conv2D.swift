import Tensors

/// Stride-1 convolution with SAME padding and an odd square kernel, on NCHW input, run by oneDNN.
public final class Conv2D: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let weight: Parameter
    public let bias: Parameter
    public var needsInputGradient = true

    private var kernel: ConvolutionKernel?
    private var input: Tensor?
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, name: String) {
        precondition(kernelSize % 2 == 1, "Conv2D needs an odd kernel size for SAME padding, got \(kernelSize)")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [outputChannels, inputChannels, kernelSize, kernelSize]))
        bias = Parameter(name: name + ".bias", value: Tensor(shape: [outputChannels]))
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 4 && inputShape[1] == inputChannels, "Conv2D expects [N, \(inputChannels), H, W], got \(inputShape)")
        return [inputShape[0], outputChannels, inputShape[2], inputShape[3]]
    }

    private func kernel(for inputShape: [Int]) -> ConvolutionKernel {
        let shape = ConvolutionShape(batch: inputShape[0], inputChannels: inputChannels, height: inputShape[2],
                                     width: inputShape[3], outputChannels: outputChannels, kernelSize: kernelSize)
        if let kernel, kernel.shape == shape { return kernel }
        let fresh = ConvolutionKernel(shape: shape)
        kernel = fresh
        return fresh
    }

    public func forward(_ input: Tensor) -> Tensor {
        let result = output.tensor(shape: outputShape(for: input.shape))
        kernel(for: input.shape).forward(input: input.pointer, weights: weight.value.pointer,
                                         bias: bias.value.pointer, output: result.pointer)
        self.input = input
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard let input, let kernel else { preconditionFailure("Conv2D.backward before forward") }
        kernel.backwardWeights(input: input.pointer, outputGradient: outputGradient.pointer,
                               weightGradient: weight.gradient.pointer, biasGradient: bias.gradient.pointer)
        guard needsInputGradient else { return nil }
        let result = inputGradient.tensor(shape: input.shape)
        kernel.backwardData(outputGradient: outputGradient.pointer, weights: weight.value.pointer, inputGradient: result.pointer)
        return result
    }
}
