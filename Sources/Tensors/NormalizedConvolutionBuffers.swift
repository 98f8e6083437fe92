/// Where one convolution + batch-norm unit keeps its parameters, gradients and running
/// statistics (plain OIHW weights, per-channel vectors). The storage must outlive the kernel.
public struct NormalizedConvolutionBuffers {
    public var weight: UnsafeMutablePointer<Float>
    public var scale: UnsafeMutablePointer<Float>
    public var shift: UnsafeMutablePointer<Float>
    public var runningMean: UnsafeMutablePointer<Float>
    public var runningVariance: UnsafeMutablePointer<Float>
    public var weightGradient: UnsafeMutablePointer<Float>
    public var scaleGradient: UnsafeMutablePointer<Float>
    public var shiftGradient: UnsafeMutablePointer<Float>

    public init(weight: UnsafeMutablePointer<Float>, scale: UnsafeMutablePointer<Float>, shift: UnsafeMutablePointer<Float>,
                runningMean: UnsafeMutablePointer<Float>, runningVariance: UnsafeMutablePointer<Float>,
                weightGradient: UnsafeMutablePointer<Float>, scaleGradient: UnsafeMutablePointer<Float>,
                shiftGradient: UnsafeMutablePointer<Float>) {
        self.weight = weight
        self.scale = scale
        self.shift = shift
        self.runningMean = runningMean
        self.runningVariance = runningVariance
        self.weightGradient = weightGradient
        self.scaleGradient = scaleGradient
        self.shiftGradient = shiftGradient
    }
}
