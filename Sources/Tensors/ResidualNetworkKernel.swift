import CDNNL

/// Runs a whole `ResidualPlan` (stem, basic blocks, global average pooling) for one batch shape in
/// oneDNN, every activation in the layout oneDNN chooses for this CPU (nChw8c on AVX2, nChw16c on
/// AVX-512; widths that are not a multiple of the block are padded by oneDNN), so nothing is
/// reordered between layers: plain NCHW in, plain [N, C] out. Batch norm is oneDNN's, with ReLU
/// fused where the plan has one; the residual sum is a binary add with ReLU as a post-op.
/// Training mode normalises with batch statistics and exposes them (`batchMean`, `batchVariance`)
/// so the caller can update the running ones; inference mode uses the running statistics.
public final class ResidualNetworkKernel {
    public let plan: ResidualPlan
    public let batch: Int, height: Int, width: Int
    public let training: Bool
    public let epsilon: Float
    public let activationLayout: ActivationLayout
    /// Values each unit's batch norm averages over (N·H·W), for the unbiased running variance.
    public let normalizedCounts: [Int]
    public var outputShape: [Int] { [batch, plan.outputChannels] }

    private let stream: DNNLStream
    private let plainInput: DNNLMemory, plainInputAliases: [DNNLMemory]
    private let plainOutput: DNNLMemory, plainOutputGradient: DNNLMemory
    private let means: [DNNLMemory], variances: [DNNLMemory]
    private let forwardProgram: DNNLProgram, backwardProgram: DNNLProgram?

    public init(plan: ResidualPlan, batch: Int, height: Int, width: Int, buffers: [NormalizedConvolutionBuffers],
                training: Bool, epsilon: Float = 1e-5, activationLayout: ActivationLayout = .chosenByOneDNN) throws(OneDNNError) {
        precondition(buffers.count == plan.units.count, "one buffer set per unit")
        self.plan = plan
        self.batch = batch
        self.height = height
        self.width = width
        self.training = training
        self.epsilon = epsilon
        self.activationLayout = activationLayout
        stream = try DNNLStream()
        let builder = try ResidualProgramBuilder(plan: plan, batch: batch, height: height, width: width, buffers: buffers,
                                                 training: training, epsilon: epsilon, layout: activationLayout)
        plainInput = builder.plainInput
        plainInputAliases = builder.plainInputAliases
        plainOutput = builder.plainOutput
        plainOutputGradient = builder.plainOutputGradient
        let records = builder.records.sorted { $0.index < $1.index }
        means = records.map(\.mean)
        variances = records.map(\.variance)
        normalizedCounts = records.map { $0.outputDims[0] * $0.outputDims[2] * $0.outputDims[3] }
        forwardProgram = try DNNLProgram(builder.forwardSteps)
        backwardProgram = try training ? DNNLProgram(builder.backwardSteps) : nil
    }

    /// input: plain NCHW; output: plain [N, C], the globally pooled features.
    public func forward(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) throws(OneDNNError) {
        try plainInput.attach(input)
        try plainOutput.attach(output)
        try forwardProgram.run(on: stream)
    }

    /// Overwrites every unit's weight, scale and shift gradients for the last forward. Only on a
    /// training kernel.
    public func backward(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>) throws(OneDNNError) {
        guard let backwardProgram else { preconditionFailure("backward on an inference kernel") }
        try plainInput.attach(input)
        for alias in plainInputAliases { try alias.attach(input) }
        try plainOutputGradient.attach(outputGradient)
        try backwardProgram.run(on: stream)
    }

    /// Unit `index`'s batch mean and biased variance from the last training forward (C floats each).
    public func batchMean(_ index: Int) -> UnsafeMutablePointer<Float> { statistics(means[index]) }
    public func batchVariance(_ index: Int) -> UnsafeMutablePointer<Float> { statistics(variances[index]) }

    private func statistics(_ memory: DNNLMemory) -> UnsafeMutablePointer<Float> {
        guard let pointer = memory.pointer else { preconditionFailure("batch statistics exist only on a training kernel") }
        return pointer.assumingMemoryBound(to: Float.self)
    }
}

/// What the backward pass of one convolution + batch-norm unit needs from its forward pass.
private struct UnitRecord {
    /// The unit's place in the plan.
    var index: Int
    var unit: ResidualPlan.Unit
    var name: String
    /// What the convolution reads: the unit's input, or a copy in the layout the convolution chose.
    var source: DNNLMemory
    var sourceDims: [Int], outputDims: [Int]
    var convolution: DNNLPrimitive
    var weights: DNNLMemory, plainWeights: DNNLMemory
    var convolutionOutput: DNNLMemory
    var normalization: DNNLPrimitive
    var output: DNNLMemory
    var mean: DNNLMemory, variance: DNNLMemory
    var scale: DNNLMemory, shift: DNNLMemory
    var workspace: DNNLMemory?
    var buffers: NormalizedConvolutionBuffers
}

/// Builds a `ResidualNetworkKernel`'s steps: forward in plan order, then backward in reverse.
private final class ResidualProgramBuilder: ProgramBuilder {
    let plan: ResidualPlan
    let batch: Int
    let training: Bool
    let epsilon: Float
    let layout: ActivationLayout
    let buffers: [NormalizedConvolutionBuffers]
    let plainInput: DNNLMemory
    var plainOutput: DNNLMemory!
    var plainOutputGradient: DNNLMemory!
    var plainInputAliases: [DNNLMemory] = []
    var records: [UnitRecord] = []

    init(plan: ResidualPlan, batch: Int, height: Int, width: Int, buffers: [NormalizedConvolutionBuffers],
         training: Bool, epsilon: Float, layout: ActivationLayout) throws(OneDNNError) {
        self.plan = plan
        self.batch = batch
        self.training = training
        self.epsilon = epsilon
        self.layout = layout
        self.buffers = buffers
        plainInput = try DNNLMemory(plainLayout([batch, plan.inputChannels, height, width], dnnl_nchw), owning: false)
        super.init()
        try build(height: height, width: width)
    }

    private var propagation: dnnl_prop_kind_t { training ? dnnl_forward_training : dnnl_forward_inference }

    private func build(height: Int, width: Int) throws(OneDNNError) {
        // Forward: stem, blocks, global average pooling.
        let stem = try unit(0, input: plainInput, h: height, w: width)
        var h = stem.outputDims[2], w = stem.outputDims[3]
        var current = stem.output
        var blockOutputs: [DNNLMemory] = []
        var blockRecords: [(first: UnitRecord, second: UnitRecord, shortcut: UnitRecord?, input: DNNLMemory)] = []
        for block in plan.blocks {
            let input = current
            let first = try unit(block.first, input: input, h: h, w: w)
            let second = try unit(block.second, input: first.output, h: first.outputDims[2], w: first.outputDims[3])
            let shortcut = try block.shortcut.map { index throws(OneDNNError) in try unit(index, input: input, h: h, w: w) }
            h = second.outputDims[2]
            w = second.outputDims[3]
            let output = try residualSum(second.output, try forwardCopy(shortcut?.output ?? input, as: second.output.desc),
                                         name: "the sum of \(block.name) \(shapeText(second.outputDims))")
            blockOutputs.append(output)
            blockRecords.append((first, second, shortcut, input))
            current = output
        }

        let channels = plan.outputChannels
        let pooledDims = [batch, channels, 1, 1]
        var pooledLayout = try layout.layout(pooledDims), lastLayout = current.desc
        let zero: [Int64] = [0, 0], window = [Int64(h), Int64(w)]
        let poolName = "global average pooling \(shapeText(current.dims)) → \(shapeText(pooledDims))"
        var pooling = dnnl_pooling_desc_t()
        try check(dnnl_pooling_forward_desc_init(&pooling, propagation, dnnl_pooling_avg_include_padding, &lastLayout, &pooledLayout,
                                                 [1, 1], window, zero, zero), "describe \(poolName)")
        let pool = try DNNLPrimitive(&pooling, poolName)
        let pooled = try DNNLMemory(pool.layout(dnnl_query_dst_md), owning: true)
        forwardSteps.append((pool, [(DNNL_ARG_SRC, current), (DNNL_ARG_DST, pooled)]))
        plainOutput = try DNNLMemory(plainLayout(pooledDims, dnnl_nchw), owning: false)
        plainOutputGradient = try DNNLMemory(plainOutput.desc, owning: false)
        forwardSteps.append(try reorderStep(pooled, plainOutput))
        guard training else { return }

        // Backward, in reverse: pooling, then each block (ReLU, both branches, the sum of the
        // input gradients), then the stem's weights (nothing upstream learns).
        let pooledGradient = try DNNLMemory(pooled.desc, owning: true)
        backwardSteps.append(try reorderStep(plainOutputGradient, pooledGradient))
        var diffLast = current.desc, diffPooled = pooled.desc
        var poolingBackward = dnnl_pooling_desc_t()
        try check(dnnl_pooling_backward_desc_init(&poolingBackward, dnnl_pooling_avg_include_padding, &diffLast, &diffPooled,
                                                  [1, 1], window, zero, zero), "describe \(poolName) backward")
        var gradient = try DNNLMemory(current.desc, owning: true)
        backwardSteps.append((try DNNLPrimitive(&poolingBackward, poolName + " backward", hint: pool),
                              [(DNNL_ARG_DIFF_DST, pooledGradient), (DNNL_ARG_DIFF_SRC, gradient)]))

        for (index, block) in blockRecords.enumerated().reversed() {
            let output = blockOutputs[index]
            gradient = try backwardCopy(gradient, as: output.desc)
            backwardSteps.append(try eltwiseBackwardStep(.relu, output: output, gradient: gradient, into: gradient,
                                                      "the ReLU of \(plan.blocks[index].name) \(shapeText(output.dims))"))
            let firstGradient = try backward(block.second, outputGradient: gradient, dataGradient: true)!
            let inputGradient = try backward(block.first, outputGradient: firstGradient, dataGradient: true)!
            let shortcutGradient = try block.shortcut.map { r throws(OneDNNError) in try backward(r, outputGradient: gradient, dataGradient: true)! }
            // Both branches' input gradients in the block input's layout (what the previous
            // block's ReLU backward reads), summed in place.
            let sum = try backwardCopy(inputGradient, as: block.input.desc)
            let other = try backwardCopy(shortcutGradient ?? gradient, as: block.input.desc)
            let name = "the input-gradient sum of \(plan.blocks[index].name) \(shapeText(sum.dims))"
            backwardSteps.append(try addStep(sum, other, into: sum, name))
            gradient = sum
        }
        _ = try backward(stem, outputGradient: gradient, dataGradient: false)
    }

    /// ReLU(a + b) into a new memory in a's layout.
    private func residualSum(_ a: DNNLMemory, _ b: DNNLMemory, name: String) throws(OneDNNError) -> DNNLMemory {
        let output = try DNNLMemory(a.desc, owning: true)
        guard binaryKernelIsSafe(for: a.desc) else {
            forwardSteps.append(try sumStep([a, b], into: output, name))
            var data = output.desc
            var relu = dnnl_eltwise_desc_t()
            try check(dnnl_eltwise_forward_desc_init(&relu, propagation, dnnl_eltwise_relu, &data, 0, 0), "describe the ReLU of \(name)")
            forwardSteps.append((try DNNLPrimitive(&relu, "the ReLU of " + name), [(DNNL_ARG_SRC, output), (DNNL_ARG_DST, output)]))
            return output
        }
        var x = a.desc, y = b.desc, z = a.desc
        var binary = dnnl_binary_desc_t()
        try check(dnnl_binary_desc_init(&binary, dnnl_binary_add, &x, &y, &z), "describe \(name)")
        forwardSteps.append((try DNNLPrimitive(&binary, name, postOp: .relu), [(DNNL_ARG_SRC_0, a), (DNNL_ARG_SRC_1, b), (DNNL_ARG_DST, output)]))
        return output
    }

    /// Convolution then batch norm (and ReLU) for unit `index`, appended to the forward steps.
    private func unit(_ index: Int, input: DNNLMemory, h: Int, w: Int) throws(OneDNNError) -> UnitRecord {
        let u = plan.units[index], b = buffers[index]
        let oh = ResidualPlan.outputSize(h, kernelSize: u.kernelSize, stride: u.stride)
        let ow = ResidualPlan.outputSize(w, kernelSize: u.kernelSize, stride: u.stride)
        let inputDims = [batch, u.inputChannels, h, w], outputDims = [batch, u.outputChannels, oh, ow]
        let weightDims = [u.outputChannels, u.inputChannels, u.kernelSize, u.kernelSize]
        let shapes = "\(shapeText(inputDims)) → \(shapeText(outputDims))"
        let pad = Int64((u.kernelSize - 1) / 2)
        // The stem reads the caller's plain input: its layout is the convolution's choice even
        // when the tests force one.
        var sourceLayout = try input === plainInput ? anyLayout(inputDims) : layout.layout(inputDims)
        var weightsAny = try anyLayout(weightDims), destinationLayout = try layout.layout(outputDims)
        var convolution = dnnl_convolution_desc_t()
        try check(dnnl_convolution_forward_desc_init(&convolution, propagation, dnnl_convolution_direct, &sourceLayout, &weightsAny,
                                                     nil, &destinationLayout, [Int64(u.stride), Int64(u.stride)], [pad, pad], [pad, pad]),
                  "describe convolution \(u.name) \(shapes)")
        let forward = try DNNLPrimitive(&convolution, "convolution \(u.name) \(shapes)")
        let source = try forwardCopy(input, as: forward.layout(dnnl_query_src_md))
        let weights = try DNNLMemory(forward.layout(dnnl_query_weights_md), owning: true)
        let plainWeights = try DNNLMemory(plainLayout(weightDims, dnnl_oihw), owning: false)
        try plainWeights.attach(b.weight)
        let convolutionOutput = try DNNLMemory(forward.layout(dnnl_query_dst_md), owning: true)
        forwardSteps.append(try reorderStep(plainWeights, weights))
        forwardSteps.append((forward, [(DNNL_ARG_SRC, source), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DST, convolutionOutput)]))

        var data = convolutionOutput.desc
        var normalization = dnnl_batch_normalization_desc_t()
        try check(dnnl_batch_normalization_forward_desc_init(&normalization, propagation, &data, epsilon, normalizationFlags(u, forward: true)),
                  "describe batch norm \(u.name) \(shapeText(outputDims))")
        let norm = try DNNLPrimitive(&normalization, "batch norm \(u.name) \(shapeText(outputDims))")
        let output = try DNNLMemory(norm.layout(dnnl_query_dst_md), owning: true)
        // Per-channel vectors are the caller's plain [C] buffers; DNNLProgram checks that oneDNN
        // describes them the same way.
        let vector = try plainLayout([u.outputChannels], dnnl_x)
        let scale = try DNNLMemory(vector, owning: false), shift = try DNNLMemory(vector, owning: false)
        try scale.attach(b.scale)
        try shift.attach(b.shift)
        let mean = try DNNLMemory(vector, owning: training), variance = try DNNLMemory(vector, owning: training)
        if !training {
            try mean.attach(b.runningMean)
            try variance.attach(b.runningVariance)
        }
        var arguments: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, convolutionOutput), (DNNL_ARG_DST, output), (DNNL_ARG_SCALE, scale),
                                                (DNNL_ARG_SHIFT, shift), (DNNL_ARG_MEAN, mean), (DNNL_ARG_VARIANCE, variance)]
        var workspace: DNNLMemory?
        if training && u.relu {
            let memory = try DNNLMemory(norm.layout(dnnl_query_workspace_md), owning: true)
            arguments.append((DNNL_ARG_WORKSPACE, memory))
            workspace = memory
        }
        forwardSteps.append((norm, arguments))
        let record = UnitRecord(index: index, unit: u, name: u.name, source: source, sourceDims: inputDims, outputDims: outputDims,
                                convolution: forward, weights: weights, plainWeights: plainWeights, convolutionOutput: convolutionOutput,
                                normalization: norm, output: output, mean: mean, variance: variance, scale: scale, shift: shift,
                                workspace: workspace, buffers: b)
        records.append(record)
        return record
    }

    private func normalizationFlags(_ u: ResidualPlan.Unit, forward: Bool) -> UInt32 {
        var flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        if u.relu { flags |= dnnl_fuse_norm_relu.rawValue }
        if forward && !training { flags |= dnnl_use_global_stats.rawValue }
        return flags
    }

    /// Appends one unit's backward steps (batch norm, weight gradient, and the input gradient when
    /// asked) and returns the memory that will hold the input gradient, in the layout of `r.source`.
    private func backward(_ r: UnitRecord, outputGradient: DNNLMemory, dataGradient: Bool) throws(OneDNNError) -> DNNLMemory? {
        let u = r.unit
        let outputShape = shapeText(r.outputDims), shapes = "\(shapeText(r.sourceDims)) → \(outputShape)"
        var diff = r.output.desc, normalized = r.convolutionOutput.desc
        var normalization = dnnl_batch_normalization_desc_t()
        try check(dnnl_batch_normalization_backward_desc_init(&normalization, dnnl_backward, &diff, &normalized, epsilon,
                                                              normalizationFlags(u, forward: false)),
                  "describe batch norm \(u.name) \(outputShape) backward")
        let normBackward = try DNNLPrimitive(&normalization, "batch norm \(u.name) \(outputShape) backward", hint: r.normalization)
        let convolutionGradient = try DNNLMemory(normBackward.layout(dnnl_query_diff_src_md), owning: true)
        let vector = try plainLayout([u.outputChannels], dnnl_x)
        let scaleGradient = try DNNLMemory(vector, owning: false), shiftGradient = try DNNLMemory(vector, owning: false)
        try scaleGradient.attach(r.buffers.scaleGradient)
        try shiftGradient.attach(r.buffers.shiftGradient)
        let upstream = try backwardCopy(outputGradient, as: r.output.desc)
        var arguments: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, r.convolutionOutput), (DNNL_ARG_MEAN, r.mean), (DNNL_ARG_VARIANCE, r.variance),
                                                (DNNL_ARG_DIFF_DST, upstream), (DNNL_ARG_SCALE, r.scale), (DNNL_ARG_SHIFT, r.shift),
                                                (DNNL_ARG_DIFF_SRC, convolutionGradient), (DNNL_ARG_DIFF_SCALE, scaleGradient),
                                                (DNNL_ARG_DIFF_SHIFT, shiftGradient)]
        if let workspace = r.workspace { arguments.append((DNNL_ARG_WORKSPACE, workspace)) }
        backwardSteps.append((normBackward, arguments))

        let weightDims = [u.outputChannels, u.inputChannels, u.kernelSize, u.kernelSize]
        let pad = Int64((u.kernelSize - 1) / 2), strides = [Int64(u.stride), Int64(u.stride)], padding = [pad, pad]
        // oneDNN 2.6 has no fast weight-gradient kernel for a plain NCHW source (it falls back to
        // a reference one, ~1000× slower): the stem's plain source is described as NHWC instead —
        // the same bytes for one channel, one small reorder otherwise.
        let plainSource = r.source === plainInput
        var sourceLayout = try plainSource ? plainLayout(r.sourceDims, dnnl_nhwc) : r.source.desc
        var diffWeightsAny = try anyLayout(weightDims)
        var diffDestination = try plainSource ? plainLayout(r.outputDims, dnnl_nhwc) : convolutionGradient.desc
        var weightsBackward = dnnl_convolution_desc_t()
        try check(dnnl_convolution_backward_weights_desc_init(&weightsBackward, dnnl_convolution_direct, &sourceLayout, &diffWeightsAny,
                                                              nil, &diffDestination, strides, padding, padding),
                  "describe convolution \(u.name) \(shapes) backward-weights")
        let weightsGradient = try DNNLPrimitive(&weightsBackward, "convolution \(u.name) \(shapes) backward-weights", hint: r.convolution)
        let wantedSource = weightsGradient.layout(dnnl_query_src_md)
        let weightsSource: DNNLMemory
        if plainSource && u.inputChannels == 1 && !sameLayout(wantedSource, r.source.desc) {
            weightsSource = try DNNLMemory(wantedSource, owning: false)
            plainInputAliases.append(weightsSource)
        } else {
            weightsSource = try backwardCopy(r.source, as: wantedSource)
        }
        let weightsDiff = try backwardCopy(convolutionGradient, as: weightsGradient.layout(dnnl_query_diff_dst_md))
        let diffWeights = try DNNLMemory(weightsGradient.layout(dnnl_query_diff_weights_md), owning: true)
        let plainDiffWeights = try DNNLMemory(r.plainWeights.desc, owning: false)
        try plainDiffWeights.attach(r.buffers.weightGradient)
        backwardSteps.append((weightsGradient, [(DNNL_ARG_SRC, weightsSource), (DNNL_ARG_DIFF_DST, weightsDiff),
                                                (DNNL_ARG_DIFF_WEIGHTS, diffWeights)]))
        backwardSteps.append(try reorderStep(diffWeights, plainDiffWeights))
        guard dataGradient else { return nil }

        var diffSource = r.source.desc, dataWeightsAny = try anyLayout(weightDims), dataDiff = convolutionGradient.desc
        var dataBackward = dnnl_convolution_desc_t()
        try check(dnnl_convolution_backward_data_desc_init(&dataBackward, dnnl_convolution_direct, &diffSource, &dataWeightsAny,
                                                           &dataDiff, strides, padding, padding),
                  "describe convolution \(u.name) \(shapes) backward-data")
        let data = try DNNLPrimitive(&dataBackward, "convolution \(u.name) \(shapes) backward-data", hint: r.convolution)
        var weights = r.weights
        let wantedWeights = data.layout(dnnl_query_weights_md)
        if !sameLayout(wantedWeights, r.weights.desc) {
            weights = try DNNLMemory(wantedWeights, owning: true)
            backwardSteps.append(try reorderStep(r.plainWeights, weights))
        }
        let inputGradient = try DNNLMemory(r.source.desc, owning: true)
        backwardSteps.append((data, [(DNNL_ARG_DIFF_DST, convolutionGradient), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DIFF_SRC, inputGradient)]))
        return inputGradient
    }
}
