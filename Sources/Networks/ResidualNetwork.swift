import Tensors

/// A small ResNet run as one oneDNN unit (`ResidualNetworkKernel`): NCHW images in, globally
/// pooled [N, C] features out. It computes what the separate layers (Conv2D, BatchNorm2D, ReLU,
/// ResidualBlock, GlobalAveragePool) compute, names its parameters as they would be named, and
/// must be the first layer of its network (nothing upstream needs an input gradient).
public final class ResidualNetwork: ModeDependentLayer {
    public let plan: ResidualPlan
    public let momentum: Float = 0.1
    public var needsInputGradient = false
    public var isTraining = true

    /// Per unit: convolution weight, batch-norm scale and shift, running mean and variance.
    public let weights: [Parameter], scales: [Parameter], shifts: [Parameter]
    public let runningMeans: [Parameter], runningVariances: [Parameter]
    private let buffersOfUnits: [NormalizedConvolutionBuffers]
    // One per mode, so a validation in the middle of training rebuilds neither.
    private var trainingKernel: ResidualNetworkKernel?, inferenceKernel: ResidualNetworkKernel?
    private var kernel: ResidualNetworkKernel? {
        get { isTraining ? trainingKernel : inferenceKernel }
        set { if isTraining { trainingKernel = newValue } else { inferenceKernel = newValue } }
    }
    private var input: Tensor?
    /// oneDNN's choice unless a test forces one (see `ActivationLayout`).
    public var activationLayout = ActivationLayout.chosenByOneDNN
    private var output = ReusableTensor()

    public init(plan: ResidualPlan, prefix: String) {
        self.plan = plan
        func parameter(_ name: String, _ shape: [Int], fill: Float = 0) -> Parameter {
            let p = Parameter(name: name, value: Tensor(shape: shape))
            p.value.fill(fill)
            return p
        }
        weights = plan.units.map { parameter(prefix + $0.name + ".weight", [$0.outputChannels, $0.inputChannels, $0.kernelSize, $0.kernelSize]) }
        scales = plan.units.map { parameter(prefix + $0.name + ".norm.weight", [$0.outputChannels], fill: 1) }
        shifts = plan.units.map { parameter(prefix + $0.name + ".norm.bias", [$0.outputChannels]) }
        runningMeans = plan.units.map { parameter(prefix + $0.name + ".norm.running_mean", [$0.outputChannels]) }
        runningVariances = plan.units.map { parameter(prefix + $0.name + ".norm.running_var", [$0.outputChannels], fill: 1) }
        buffersOfUnits = plan.units.indices.map { [weights, scales, shifts, runningMeans, runningVariances] i in
            NormalizedConvolutionBuffers(weight: weights[i].value.pointer, scale: scales[i].value.pointer, shift: shifts[i].value.pointer,
                                         runningMean: runningMeans[i].value.pointer, runningVariance: runningVariances[i].value.pointer,
                                         weightGradient: weights[i].gradient.pointer, scaleGradient: scales[i].gradient.pointer,
                                         shiftGradient: shifts[i].gradient.pointer)
        }
    }

    /// In the reference layers' order: each unit's weight, then its batch norm's γ and β.
    public var parameters: [Parameter] { plan.units.indices.flatMap { [weights[$0], scales[$0], shifts[$0]] } }
    public var buffers: [Parameter] { plan.units.indices.flatMap { [runningMeans[$0], runningVariances[$0]] } }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 4 && inputShape[1] == plan.inputChannels,
                     "ResidualNetwork expects [N, \(plan.inputChannels), H, W], got \(inputShape)")
        return [inputShape[0], plan.outputChannels]
    }

    private func kernel(for shape: [Int]) throws -> ResidualNetworkKernel {
        if let kernel, kernel.batch == shape[0], kernel.height == shape[2], kernel.width == shape[3], kernel.training == isTraining,
           kernel.activationLayout == activationLayout {
            return kernel
        }
        kernel = nil  // release this mode's old primitives and buffers before building the new ones
        let fresh = try ResidualNetworkKernel(plan: plan, batch: shape[0], height: shape[2], width: shape[3],
                                              buffers: buffersOfUnits, training: isTraining, activationLayout: activationLayout)
        kernel = fresh
        return fresh
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        let result = output.tensor(shape: outputShape(for: input.shape))
        let kernel = try kernel(for: input.shape)
        try kernel.forward(input: input.pointer, output: result.pointer)
        if isTraining { updateRunningStatistics(kernel) }
        self.input = input
        return result
    }

    /// As PyTorch: running ← (1 − momentum)·running + momentum·batch, with the unbiased variance.
    private func updateRunningStatistics(_ kernel: ResidualNetworkKernel) {
        for i in plan.units.indices {
            let mean = kernel.batchMean(i), variance = kernel.batchVariance(i)
            let count = Float(kernel.normalizedCounts[i]), correction = count > 1 ? count / (count - 1) : 1
            let rm = runningMeans[i].value.pointer, rv = runningVariances[i].value.pointer
            for c in 0..<runningMeans[i].value.count {
                rm[c] = (1 - momentum) * rm[c] + momentum * mean[c]
                rv[c] = (1 - momentum) * rv[c] + momentum * variance[c] * correction
            }
        }
    }

    public func backward(_ outputGradient: Tensor) throws -> Tensor? {
        guard let input, let kernel, kernel.training else { preconditionFailure("ResidualNetwork.backward without a training forward") }
        precondition(!needsInputGradient, "ResidualNetwork must be the first layer: it computes no input gradient")
        try kernel.backward(input: input.pointer, outputGradient: outputGradient.pointer)
        return nil
    }
}
