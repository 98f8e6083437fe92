import Tensors

/// Batch normalisation over N, H and W for each channel of NCHW input, as PyTorch's BatchNorm2d:
/// training normalises with the batch's mean and biased variance and moves the running
/// statistics toward them (momentum 0.1, unbiased variance); inference uses the running ones.
/// Plain loops: the layer-by-layer reference for the fused residual network, which runs oneDNN's.
public final class BatchNorm2D: ModeDependentLayer {
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float
    /// γ and β.
    public let weight: Parameter, bias: Parameter
    public let runningMean: Parameter, runningVariance: Parameter
    public var needsInputGradient = true
    public var isTraining = true

    private var normalized = ReusableTensor()      // x̂, kept for backward
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()
    private var inverseDeviation: [Float]

    /// PyTorch's default, which ONNX export and the fused kernel use too.
    public static let defaultEpsilon: Float = 1e-5

    public init(channels: Int, epsilon: Float = BatchNorm2D.defaultEpsilon, momentum: Float = 0.1, name: String) {
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        weight = Parameter(name: name + ".weight", value: Tensor(shape: [channels]))
        bias = Parameter(name: name + ".bias", value: Tensor(shape: [channels]))
        runningMean = Parameter(name: name + ".running_mean", value: Tensor(shape: [channels]))
        runningVariance = Parameter(name: name + ".running_var", value: Tensor(shape: [channels]))
        weight.value.fill(1)
        runningVariance.value.fill(1)
        inverseDeviation = [Float](repeating: 1, count: channels)
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [Parameter] { [runningMean, runningVariance] }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 4 && inputShape[1] == channels, "BatchNorm2D expects [N, \(channels), H, W], got \(inputShape)")
        return inputShape
    }

    public func forward(_ input: Tensor) -> Tensor {
        let shape = outputShape(for: input.shape)
        let n = shape[0], plane = shape[2] * shape[3], count = n * plane
        let y = output.tensor(shape: shape), xhat = normalized.tensor(shape: shape)
        let x = input.pointer
        for c in 0..<channels {
            var mean: Float, variance: Float
            if isTraining {
                var sum = 0.0, squares = 0.0
                for b in 0..<n {
                    let p = x + (b * channels + c) * plane
                    for i in 0..<plane { sum += Double(p[i]) }
                }
                let m = sum / Double(count)
                for b in 0..<n {
                    let p = x + (b * channels + c) * plane
                    for i in 0..<plane { let d = Double(p[i]) - m; squares += d * d }
                }
                mean = Float(m)
                variance = Float(squares / Double(count))
                let unbiased = count > 1 ? variance * Float(count) / Float(count - 1) : variance
                runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * mean
                runningVariance.value[c] = (1 - momentum) * runningVariance.value[c] + momentum * unbiased
            } else {
                mean = runningMean.value[c]
                variance = runningVariance.value[c]
            }
            let inverse = 1 / (variance + epsilon).squareRoot()
            inverseDeviation[c] = inverse
            let gamma = weight.value[c], beta = bias.value[c]
            for b in 0..<n {
                let offset = (b * channels + c) * plane
                for i in 0..<plane {
                    let v = (x[offset + i] - mean) * inverse
                    xhat.pointer[offset + i] = v
                    y.pointer[offset + i] = gamma * v + beta
                }
            }
        }
        return y
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        let shape = outputGradient.shape
        let n = shape[0], plane = shape[2] * shape[3], count = Float(n * plane)
        let xhat = normalized.tensor(shape: shape), dy = outputGradient.pointer
        let dx = needsInputGradient ? inputGradient.tensor(shape: shape) : nil
        for c in 0..<channels {
            var sumDy = 0.0, sumDyXhat = 0.0
            for b in 0..<n {
                let offset = (b * channels + c) * plane
                for i in 0..<plane {
                    sumDy += Double(dy[offset + i])
                    sumDyXhat += Double(dy[offset + i]) * Double(xhat.pointer[offset + i])
                }
            }
            bias.gradient[c] = Float(sumDy)
            weight.gradient[c] = Float(sumDyXhat)
            guard let dx else { continue }
            let scale = weight.value[c] * inverseDeviation[c]
            for b in 0..<n {
                let offset = (b * channels + c) * plane
                for i in 0..<plane {
                    if isTraining {
                        // The batch statistics depend on every input: their share of the gradient.
                        dx.pointer[offset + i] = scale * (dy[offset + i] - Float(sumDy) / count - xhat.pointer[offset + i] * Float(sumDyXhat) / count)
                    } else {
                        dx.pointer[offset + i] = scale * dy[offset + i]
                    }
                }
            }
        }
        return dx
    }
}
