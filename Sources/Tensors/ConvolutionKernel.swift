import CDNNL

/// Shape of a convolution on NCHW activations and OIHW weights ([O, I / groups, k, k]): a square
/// kernel, optionally strided, dilated and grouped (groups = channels is depthwise), with zero
/// padding before (top, left) and after (bottom, right), with or without a bias. By default the
/// padding is symmetric, (k − 1) / 2 on each side: SAME for an odd kernel at stride 1.
public struct ConvolutionShape: Hashable, Sendable {
    public var batch: Int
    public var inputChannels: Int
    public var height: Int
    public var width: Int
    public var outputChannels: Int
    public var kernelSize: Int
    public var stride: Int
    /// Top and left padding.
    public var padding: Int
    /// Bottom and right padding.
    public var paddingEnd: Int
    public var dilation: Int
    public var groups: Int
    public var hasBias: Bool

    public init(batch: Int, inputChannels: Int, height: Int, width: Int, outputChannels: Int, kernelSize: Int,
                stride: Int = 1, padding: Int? = nil, paddingEnd: Int? = nil, dilation: Int = 1, groups: Int = 1, hasBias: Bool = true) {
        precondition(padding != nil || kernelSize % 2 == 1, "symmetric padding needs an odd kernel, got \(kernelSize)")
        precondition(stride >= 1 && dilation >= 1 && groups >= 1, "stride, dilation and groups must be at least 1")
        precondition(inputChannels % groups == 0 && outputChannels % groups == 0, "\(groups) groups do not divide the channels")
        self.batch = batch
        self.inputChannels = inputChannels
        self.height = height
        self.width = width
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding ?? (kernelSize - 1) / 2
        self.paddingEnd = paddingEnd ?? self.padding
        self.dilation = dilation
        self.groups = groups
        self.hasBias = hasBias
    }

    /// The span the kernel covers on the input: (k − 1) · dilation + 1.
    public var kernelExtent: Int { (kernelSize - 1) * dilation + 1 }
    public var outputHeight: Int { (height + padding + paddingEnd - kernelExtent) / stride + 1 }
    public var outputWidth: Int { (width + padding + paddingEnd - kernelExtent) / stride + 1 }
    public var inputShape: [Int] { [batch, inputChannels, height, width] }
    public var outputShape: [Int] { [batch, outputChannels, outputHeight, outputWidth] }
    public var weightShape: [Int] { [outputChannels, inputChannels / groups, kernelSize, kernelSize] }
}

extension ConvolutionShape {
    /// The weights' dims as oneDNN describes them: grouped ones are [G, O/G, I/G, k, k], the same
    /// bytes as ONNX's and PyTorch's [O, I/G, k, k].
    var oneDNNWeightDims: [Int] {
        groups == 1 ? weightShape : [groups, outputChannels / groups, inputChannels / groups, kernelSize, kernelSize]
    }

    /// The plain tag of those dims (OIHW, or GOIHW when grouped).
    var oneDNNWeightTag: dnnl_format_tag_t { groups == 1 ? dnnl_oihw : dnnl_goihw }

    /// Strides, dilation (oneDNN counts it from 0: no gap between taps) and padding before and after.
    var oneDNNGeometry: (strides: [Int64], dilation: [Int64], padding: [Int64], paddingEnd: [Int64]) {
        ([Int64(stride), Int64(stride)], [Int64(dilation - 1), Int64(dilation - 1)],
         [Int64(padding), Int64(padding)], [Int64(paddingEnd), Int64(paddingEnd)])
    }
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
            + (s.groups > 1 ? ", \(s.groups) groups" : "") + (s.dilation > 1 ? ", dilation \(s.dilation)" : "")
        var sourceDesc = try plainLayout(s.inputShape, dnnl_nchw)
        var weightsDesc = try plainLayout(s.oneDNNWeightDims, s.oneDNNWeightTag)
        // oneDNN reads a zeroed bias descriptor as "no bias".
        var biasDesc = try s.hasBias ? plainLayout([s.outputChannels], dnnl_x) : dnnl_memory_desc_t()
        var destinationDesc = try plainLayout(s.outputShape, dnnl_nchw)
        let (strides, dilation, padding, paddingEnd) = s.oneDNNGeometry

        var forwardDesc = dnnl_convolution_desc_t()
        try check(dnnl_dilated_convolution_forward_desc_init(&forwardDesc, dnnl_forward_training, dnnl_convolution_direct,
                                                             &sourceDesc, &weightsDesc, &biasDesc, &destinationDesc,
                                                             strides, dilation, padding, paddingEnd), "describe the convolution \(shapes)")
        let forward = try DNNLPrimitive(&forwardDesc, "the convolution \(shapes)")
        var dataDesc = dnnl_convolution_desc_t()
        try check(dnnl_dilated_convolution_backward_data_desc_init(&dataDesc, dnnl_convolution_direct, &sourceDesc, &weightsDesc,
                                                                   &destinationDesc, strides, dilation, padding, paddingEnd),
                  "describe the backward-data convolution \(shapes)")
        let backwardData = try DNNLPrimitive(&dataDesc, "the backward-data convolution \(shapes)", hint: forward)
        var weightsGradDesc = dnnl_convolution_desc_t()
        try check(dnnl_dilated_convolution_backward_weights_desc_init(&weightsGradDesc, dnnl_convolution_direct, &sourceDesc,
                                                                      &weightsDesc, &biasDesc, &destinationDesc, strides, dilation,
                                                                      padding, paddingEnd),
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
