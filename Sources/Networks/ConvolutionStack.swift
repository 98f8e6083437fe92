import Tensors

/// A run of [Conv2D → ReLU? → MaxPool2D?] stages executed by oneDNN as one unit, with the
/// activations kept in oneDNN's blocked layouts in between. It computes exactly what the separate
/// layers compute (the tests hold it to them) and names its parameters as they would be named,
/// so model files do not depend on which of the two ran.
public final class ConvolutionStack: ModeDependentLayer {
    public let inputChannels: Int
    public let stages: [ConvolutionStage]
    public let weights: [Parameter]
    public let biases: [Parameter]
    public var needsInputGradient = true
    /// Off for embedding: oneDNN's inference primitives, no pooling workspace, no backward.
    public var isTraining = true

    private var kernel: ConvolutionStackKernel?
    /// oneDNN's choice unless a test forces one (see `ActivationLayout`).
    public var activationLayout = ActivationLayout.chosenByOneDNN
    // Parameter storage never moves, so the pointer lists handed to the kernel are made once.
    private let weightPointers: [UnsafeMutablePointer<Float>], biasPointers: [UnsafeMutablePointer<Float>]
    private let weightGradientPointers: [UnsafeMutablePointer<Float>], biasGradientPointers: [UnsafeMutablePointer<Float>]
    private var input: Tensor?
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()

    /// `names[i]` is the parameter prefix of stage i ("layers.3").
    public init(inputChannels: Int, stages: [ConvolutionStage], names: [String]) {
        precondition(stages.count == names.count)
        self.inputChannels = inputChannels
        self.stages = stages
        var channels = inputChannels
        var weights: [Parameter] = [], biases: [Parameter] = []
        for (stage, name) in zip(stages, names) {
            weights.append(Parameter(name: name + ".weight", value: Tensor(shape: [stage.outputChannels, channels, stage.kernelSize, stage.kernelSize])))
            biases.append(Parameter(name: name + ".bias", value: Tensor(shape: [stage.outputChannels])))
            channels = stage.outputChannels
        }
        self.weights = weights
        self.biases = biases
        weightPointers = weights.map(\.value.pointer)
        biasPointers = biases.map(\.value.pointer)
        weightGradientPointers = weights.map(\.gradient.pointer)
        biasGradientPointers = biases.map(\.gradient.pointer)
    }

    public var parameters: [Parameter] { zip(weights, biases).flatMap { [$0, $1] } }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 4 && inputShape[1] == inputChannels, "ConvolutionStack expects [N, \(inputChannels), H, W], got \(inputShape)")
        var h = inputShape[2], w = inputShape[3]
        for stage in stages where stage.pool { h = (h + 1) / 2; w = (w + 1) / 2 }
        return [inputShape[0], stages.last!.outputChannels, h, w]
    }

    private func kernel(for shape: [Int]) throws -> ConvolutionStackKernel {
        if let kernel, kernel.batch == shape[0], kernel.height == shape[2], kernel.width == shape[3], kernel.training == isTraining,
           kernel.activationLayout == activationLayout {
            return kernel
        }
        kernel = nil  // release the old primitives and buffers before building the new ones
        let fresh = try ConvolutionStackKernel(batch: shape[0], inputChannels: inputChannels, height: shape[2], width: shape[3],
                                               stages: stages, training: isTraining, activationLayout: activationLayout)
        kernel = fresh
        return fresh
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        let result = output.tensor(shape: outputShape(for: input.shape))
        try kernel(for: input.shape).forward(input: input.pointer, weights: weightPointers, biases: biasPointers, output: result.pointer)
        self.input = input
        return result
    }

    public func backward(_ outputGradient: Tensor) throws -> Tensor? {
        guard let input, let kernel, kernel.training else { preconditionFailure("ConvolutionStack.backward without a training forward") }
        let result = needsInputGradient ? inputGradient.tensor(shape: input.shape) : nil
        try kernel.backward(input: input.pointer, outputGradient: outputGradient.pointer, weights: weightPointers,
                            weightGradients: weightGradientPointers, biasGradients: biasGradientPointers, inputGradient: result?.pointer)
        return result
    }
}
