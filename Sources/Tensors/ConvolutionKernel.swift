import CDNNL

/// Shape of a convolution with an odd square kernel and symmetric zero padding (SAME for stride 1
/// by default), on NCHW activations and OIHW weights, with or without a bias.
public struct ConvolutionShape: Hashable, Sendable {
    public var batch: Int
    public var inputChannels: Int
    public var height: Int
    public var width: Int
    public var outputChannels: Int
    public var kernelSize: Int
    public var stride: Int
    public var padding: Int
    public var hasBias: Bool

    public init(batch: Int, inputChannels: Int, height: Int, width: Int, outputChannels: Int, kernelSize: Int,
                stride: Int = 1, padding: Int? = nil, hasBias: Bool = true) {
        precondition(kernelSize % 2 == 1, "symmetric padding here needs an odd kernel, got \(kernelSize)")
        precondition(stride >= 1, "stride must be at least 1, got \(stride)")
        self.batch = batch
        self.inputChannels = inputChannels
        self.height = height
        self.width = width
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding ?? (kernelSize - 1) / 2
        self.hasBias = hasBias
    }

    public var outputHeight: Int { (height + 2 * padding - kernelSize) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernelSize) / stride + 1 }
    public var inputShape: [Int] { [batch, inputChannels, height, width] }
    public var outputShape: [Int] { [batch, outputChannels, outputHeight, outputWidth] }
    public var weightShape: [Int] { [outputChannels, inputChannels, kernelSize, kernelSize] }
}

/// oneDNN primitives for one convolution shape: forward, backward to the input, backward to the
/// weights and bias, on plain NCHW activations and OIHW weights (the reference layers' kernel;
/// `ConvolutionStackKernel` is the fast one). Created once per shape and reused; callers' buffers
/// are attached at each call.
public final class ConvolutionKernel {
    public let shape: ConvolutionShape
    private let stream: DNNLStream
    private let source: DNNLMemory, weights: DNNLMemory, bias: DNNLMemory?, destination: DNNLMemory
    private let forwardProgram: DNNLProgram, backwardDataProgram: DNNLProgram, backwardWeightsProgram: DNNLProgram

    public init(shape s: ConvolutionShape) throws(OneDNNError) {
        shape = s
        stream = try DNNLStream()
        let shapes = "\(shapeText(s.inputShape)) → \(shapeText(s.outputShape)), kernel \(s.kernelSize), stride \(s.stride)"
        var sourceDesc = try plainLayout(s.inputShape, dnnl_nchw)
        var weightsDesc = try plainLayout(s.weightShape, dnnl_oihw)
        // oneDNN reads a zeroed bias descriptor as "no bias".
        var biasDesc = try s.hasBias ? plainLayout([s.outputChannels], dnnl_x) : dnnl_memory_desc_t()
        var destinationDesc = try plainLayout(s.outputShape, dnnl_nchw)
        let strides: [Int64] = [Int64(s.stride), Int64(s.stride)]
        let padding: [Int64] = [Int64(s.padding), Int64(s.padding)]

        var forwardDesc = dnnl_convolution_desc_t()
        try check(dnnl_convolution_forward_desc_init(&forwardDesc, dnnl_forward_training, dnnl_convolution_direct,
                                                     &sourceDesc, &weightsDesc, &biasDesc, &destinationDesc,
                                                     strides, padding, padding), "describe the convolution \(shapes)")
        let forward = try DNNLPrimitive(&forwardDesc, "the convolution \(shapes)")
        var dataDesc = dnnl_convolution_desc_t()
        try check(dnnl_convolution_backward_data_desc_init(&dataDesc, dnnl_convolution_direct, &sourceDesc, &weightsDesc,
                                                           &destinationDesc, strides, padding, padding),
                  "describe the backward-data convolution \(shapes)")
        let backwardData = try DNNLPrimitive(&dataDesc, "the backward-data convolution \(shapes)", hint: forward)
        var weightsGradDesc = dnnl_convolution_desc_t()
        try check(dnnl_convolution_backward_weights_desc_init(&weightsGradDesc, dnnl_convolution_direct, &sourceDesc, &weightsDesc,
                                                              &biasDesc, &destinationDesc, strides, padding, padding),
                  "describe the backward-weights convolution \(shapes)")
        let backwardWeights = try DNNLPrimitive(&weightsGradDesc, "the backward-weights convolution \(shapes)", hint: forward)

        // The same descriptions serve the gradients, so four views cover every call.
        source = try DNNLMemory(sourceDesc, owning: false)
        weights = try DNNLMemory(weightsDesc, owning: false)
        bias = try s.hasBias ? DNNLMemory(biasDesc, owning: false) : nil
        destination = try DNNLMemory(destinationDesc, owning: false)
        let withBias: (Int32) -> [(Int32, DNNLMemory)] = { [bias] slot in bias.map { [(slot, $0)] } ?? [] }
        forwardProgram = try DNNLProgram([(forward, [(DNNL_ARG_SRC, source), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DST, destination)]
                                                     + withBias(DNNL_ARG_BIAS))])
        backwardDataProgram = try DNNLProgram([(backwardData, [(DNNL_ARG_DIFF_DST, destination), (DNNL_ARG_WEIGHTS, weights),
                                                               (DNNL_ARG_DIFF_SRC, source)])])
        backwardWeightsProgram = try DNNLProgram([(backwardWeights, [(DNNL_ARG_SRC, source), (DNNL_ARG_DIFF_DST, destination),
                                                                     (DNNL_ARG_DIFF_WEIGHTS, weights)] + withBias(DNNL_ARG_DIFF_BIAS))])
    }

    /// output = conv(input, weights) + bias (no bias term when the shape has none).
    public func forward(input: UnsafeMutablePointer<Float>, weights w: UnsafeMutablePointer<Float>,
                        bias b: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>) throws(OneDNNError) {
        try source.attach(input)
        try weights.attach(w)
        if let bias, let b { try bias.attach(b) }
        try destination.attach(output)
        try forwardProgram.run(on: stream)
    }

    /// inputGradient = convᵀ(outputGradient, weights); overwrites inputGradient.
    public func backwardData(outputGradient: UnsafeMutablePointer<Float>, weights w: UnsafeMutablePointer<Float>,
                             inputGradient: UnsafeMutablePointer<Float>) throws(OneDNNError) {
        try destination.attach(outputGradient)
        try weights.attach(w)
        try source.attach(inputGradient)
        try backwardDataProgram.run(on: stream)
    }

    /// Weight and bias gradients for one batch; overwrites both.
    public func backwardWeights(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                                weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?) throws(OneDNNError) {
        try source.attach(input)
        try destination.attach(outputGradient)
        try weights.attach(weightGradient)
        if let bias, let biasGradient { try bias.attach(biasGradient) }
        try backwardWeightsProgram.run(on: stream)
    }
}
