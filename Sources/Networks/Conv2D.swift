import Foundation
import Tensors

/// Convolution with a square kernel and zero padding ((k − 1) / 2 on every side by default: SAME
/// for an odd kernel at stride 1), optionally strided, dilated, grouped (depthwise when groups =
/// channels) and without bias, on NCHW input, run by oneDNN.
public final class Conv2D: Layer {
    public let inputChannels: Int
    public let outputChannels: Int
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    public let paddingEnd: Int
    public let dilation: Int
    public let groups: Int
    public let weight: Parameter
    /// nil when a batch norm follows (its shift plays the bias's part).
    public let bias: Parameter?
    public var needsInputGradient = true

    private var kernel: ConvolutionKernel?
    private var input: Tensor?
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()

    /// `padding` is the top and left padding, `paddingEnd` (default: the same) the bottom and right.
    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int? = nil, paddingEnd: Int? = nil,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, name: String) {
        precondition(padding != nil || kernelSize % 2 == 1, "Conv2D needs an odd kernel size for symmetric padding, got \(kernelSize)")
        precondition(inputChannels % groups == 0 && outputChannels % groups == 0, "\(groups) groups do not divide the channels")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding ?? (kernelSize - 1) / 2
        self.paddingEnd = paddingEnd ?? self.padding
        self.dilation = dilation
        self.groups = groups
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [outputChannels, inputChannels / groups, kernelSize, kernelSize]))
        self.bias = bias ? Parameter(name: name + ".bias", value: Tensor(shape: [outputChannels])) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    private func shape(for inputShape: [Int]) -> ConvolutionShape {
        precondition(inputShape.count == 4 && inputShape[1] == inputChannels, "Conv2D expects [N, \(inputChannels), H, W], got \(inputShape)")
        return ConvolutionShape(batch: inputShape[0], inputChannels: inputChannels, height: inputShape[2], width: inputShape[3],
                                outputChannels: outputChannels, kernelSize: kernelSize, stride: stride, padding: padding,
                                paddingEnd: paddingEnd, dilation: dilation, groups: groups, hasBias: bias != nil)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] { shape(for: inputShape).outputShape }

    private func kernel(for inputShape: [Int]) throws -> ConvolutionKernel {
        let shape = shape(for: inputShape)
        if let kernel, kernel.shape == shape { return kernel }
        let fresh = try ConvolutionKernel(shape: shape)
        kernel = fresh
        return fresh
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        let result = output.tensor(shape: outputShape(for: input.shape))
        try kernel(for: input.shape).forward(input: input.pointer, weights: weight.value.pointer,
                                             bias: bias?.value.pointer, output: result.pointer)
        self.input = input
        return result
    }

    public func backward(_ outputGradient: Tensor) throws -> Tensor? {
        guard let input, let kernel else { preconditionFailure("Conv2D.backward before forward") }
        try kernel.backwardWeights(input: input.pointer, outputGradient: outputGradient.pointer,
                                   weightGradient: weight.gradient.pointer, biasGradient: bias?.gradient.pointer)
        guard needsInputGradient else { return nil }
        let result = inputGradient.tensor(shape: input.shape)
        try kernel.backwardData(outputGradient: outputGradient.pointer, weights: weight.value.pointer, inputGradient: result.pointer)
        return result
    }
}
