import CDNNL

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

/// Runs a whole `ResidualPlan` (stem, basic blocks, global average pooling) for one batch shape in
/// oneDNN, every activation in the 8-channel blocked layout AVX2 kernels want (nChw8c), so nothing
/// is reordered between layers: plain NCHW in, plain [N, C] out. Batch norm is oneDNN's, with ReLU
/// fused where the plan has one; the residual sum is a binary add with ReLU as a post-op.
/// Training mode normalises with batch statistics and exposes them (`batchMean`, `batchVariance`)
/// so the caller can update the running ones; inference mode uses the running statistics.
public final class ResidualNetworkKernel {
    public let plan: ResidualPlan
    public let batch: Int, height: Int, width: Int
    public let training: Bool
    public let epsilon: Float
    /// Values each unit's batch norm averages over (N·H·W), for the unbiased running variance.
    public private(set) var normalizedCounts: [Int] = []
    public var outputShape: [Int] { [batch, plan.outputChannels] }

    private typealias Step = DNNLStep
    private var stream: dnnl_stream_t?
    private var forwardSteps: [Step] = []
    private var backwardSteps: [Step] = []
    private let plainInput: DNNLMemory
    private var plainInputAliases: [DNNLMemory] = []
    private var plainOutput: DNNLMemory!
    private var plainOutputGradient: DNNLMemory!
    private var means: [DNNLMemory] = [], variances: [DNNLMemory] = []

    /// What the backward pass of one unit needs from its forward pass.
    private struct UnitRecord {
        var unit: ResidualPlan.Unit
        var source: DNNLMemory
        var sourceDims: [Int]
        var outputDims: [Int]
        var convolution: DNNLPrimitive
        var weights: DNNLMemory
        var plainWeights: DNNLMemory
        var convolutionOutput: DNNLMemory
        var normalization: DNNLPrimitive
        var output: DNNLMemory
        var mean: DNNLMemory, variance: DNNLMemory
        var scale: DNNLMemory, shift: DNNLMemory
        var workspace: DNNLMemory?
        var buffers: NormalizedConvolutionBuffers
    }

    public init(plan: ResidualPlan, batch: Int, height: Int, width: Int, buffers: [NormalizedConvolutionBuffers],
                training: Bool, epsilon: Float = 1e-5) {
        precondition(buffers.count == plan.units.count, "one buffer set per unit")
        precondition(plan.units.dropFirst().allSatisfy { $0.inputChannels % 8 == 0 } && plan.units.allSatisfy { $0.outputChannels % 8 == 0 },
                     "residual widths must be multiples of 8 (the blocked layout's channel block)")
        self.plan = plan
        self.batch = batch
        self.height = height
        self.width = width
        self.training = training
        self.epsilon = epsilon
        check(dnnl_stream_create(&stream, sharedEngine, UInt32(dnnl_stream_default_flags.rawValue)), "create a stream")
        plainInput = DNNLMemory(plainLayout([batch, plan.inputChannels, height, width], dnnl_nchw), owning: false)

        let propagation = training ? dnnl_forward_training : dnnl_forward_inference
        var records: [UnitRecord] = []
        var counts: [Int] = []

        func unit(_ index: Int, source: DNNLMemory, h: Int, w: Int) -> (UnitRecord, Int, Int) {
            let u = plan.units[index], b = buffers[index]
            let oh = ResidualPlan.outputSize(h, kernelSize: u.kernelSize, stride: u.stride)
            let ow = ResidualPlan.outputSize(w, kernelSize: u.kernelSize, stride: u.stride)
            let weightDims = [u.outputChannels, u.inputChannels, u.kernelSize, u.kernelSize]
            let pad = Int64((u.kernelSize - 1) / 2)
            var sourceDesc = source.desc, weightsAny = plainLayout(weightDims, dnnl_format_tag_any)
            var destination = plainLayout([batch, u.outputChannels, oh, ow], dnnl_nChw8c)
            var convolution = dnnl_convolution_desc_t()
            check(dnnl_convolution_forward_desc_init(&convolution, propagation, dnnl_convolution_direct, &sourceDesc, &weightsAny,
                                                     nil, &destination, [Int64(u.stride), Int64(u.stride)], [pad, pad], [pad, pad]),
                  "describe convolution \(u.name)")
            var pd: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&pd, &convolution, nil, sharedEngine, nil), "create convolution \(u.name)")
            let forward = DNNLPrimitive(pd, "convolution \(u.name)")
            let weights = DNNLMemory(forward.layout(dnnl_query_weights_md), owning: true)
            let plainWeights = DNNLMemory(plainLayout(weightDims, dnnl_oihw), owning: false)
            plainWeights.attach(b.weight)
            let convolutionOutput = DNNLMemory(destination, owning: true)
            forwardSteps.append(reorder(plainWeights, weights))
            forwardSteps.append((forward, [(DNNL_ARG_SRC, source), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DST, convolutionOutput)]))

            var flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
            if u.relu { flags |= dnnl_fuse_norm_relu.rawValue }
            if !training { flags |= dnnl_use_global_stats.rawValue }
            var data = destination
            var normalization = dnnl_batch_normalization_desc_t()
            check(dnnl_batch_normalization_forward_desc_init(&normalization, propagation, &data, epsilon, flags),
                  "describe batch norm \(u.name)")
            var normPD: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&normPD, &normalization, nil, sharedEngine, nil), "create batch norm \(u.name)")
            let norm = DNNLPrimitive(normPD, "batch norm \(u.name)")
            let output = DNNLMemory(destination, owning: true)
            let vector = plainLayout([u.outputChannels], dnnl_x)
            let scale = DNNLMemory(vector, owning: false), shift = DNNLMemory(vector, owning: false)
            scale.attach(b.scale)
            shift.attach(b.shift)
            let mean: DNNLMemory, variance: DNNLMemory
            if training {
                mean = DNNLMemory(vector, owning: true)
                variance = DNNLMemory(vector, owning: true)
            } else {
                mean = DNNLMemory(vector, owning: false)
                variance = DNNLMemory(vector, owning: false)
                mean.attach(b.runningMean)
                variance.attach(b.runningVariance)
            }
            var arguments: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, convolutionOutput), (DNNL_ARG_DST, output), (DNNL_ARG_SCALE, scale),
                                                    (DNNL_ARG_SHIFT, shift), (DNNL_ARG_MEAN, mean), (DNNL_ARG_VARIANCE, variance)]
            var workspace: DNNLMemory?
            if training && u.relu {
                workspace = DNNLMemory(norm.layout(dnnl_query_workspace_md), owning: true)
                arguments.append((DNNL_ARG_WORKSPACE, workspace!))
            }
            forwardSteps.append((norm, arguments))
            counts.append(batch * oh * ow)
            let record = UnitRecord(unit: u, source: source, sourceDims: [batch, u.inputChannels, h, w],
                                    outputDims: [batch, u.outputChannels, oh, ow], convolution: forward,
                                    weights: weights, plainWeights: plainWeights, convolutionOutput: convolutionOutput,
                                    normalization: norm, output: output, mean: mean, variance: variance, scale: scale, shift: shift,
                                    workspace: workspace, buffers: b)
            return (record, oh, ow)
        }

        // Forward: stem, blocks, global average pooling.
        let (stem, stemHeight, stemWidth) = unit(0, source: plainInput, h: height, w: width)
        var h = stemHeight, w = stemWidth
        records.append(stem)
        var current = stem.output
        var blockOutputs: [DNNLMemory] = []
        var blockRecords: [(first: UnitRecord, second: UnitRecord, shortcut: UnitRecord?, input: DNNLMemory)] = []
        for block in plan.blocks {
            let input = current
            let (first, h1, w1) = unit(block.first, source: input, h: h, w: w)
            let (second, h2, w2) = unit(block.second, source: first.output, h: h1, w: w1)
            var shortcut: UnitRecord?
            if let s = block.shortcut { shortcut = unit(s, source: input, h: h, w: w).0 }
            records += [first, second] + (shortcut.map { [$0] } ?? [])
            h = h2
            w = w2
            var a = second.output.desc, b = (shortcut?.output ?? input).desc, sum = second.output.desc
            var binary = dnnl_binary_desc_t()
            check(dnnl_binary_desc_init(&binary, dnnl_binary_add, &a, &b, &sum), "describe the sum of \(block.name)")
            var pd: dnnl_primitive_desc_t?
            let attributes = reluAttributes()
            check(dnnl_primitive_desc_create(&pd, &binary, attributes, sharedEngine, nil), "create the sum of \(block.name)")
            dnnl_primitive_attr_destroy(attributes)
            let output = DNNLMemory(sum, owning: true)
            forwardSteps.append((DNNLPrimitive(pd, "the sum of \(block.name)"),
                                 [(DNNL_ARG_SRC_0, second.output), (DNNL_ARG_SRC_1, shortcut?.output ?? input), (DNNL_ARG_DST, output)]))
            blockOutputs.append(output)
            blockRecords.append((first, second, shortcut, input))
            current = output
        }
        normalizedCounts = counts
        means = records.map(\.mean)
        variances = records.map(\.variance)

        let channels = plan.outputChannels
        var pooledDesc = plainLayout([batch, channels, 1, 1], dnnl_nChw8c), lastDesc = current.desc
        var pooling = dnnl_pooling_desc_t()
        let zero: [Int64] = [0, 0]
        check(dnnl_pooling_forward_desc_init(&pooling, propagation, dnnl_pooling_avg_include_padding, &lastDesc, &pooledDesc,
                                             [1, 1], [Int64(h), Int64(w)], zero, zero), "describe global average pooling")
        var poolPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&poolPD, &pooling, nil, sharedEngine, nil), "create global average pooling")
        let pool = DNNLPrimitive(poolPD, "global average pooling")
        let pooled = DNNLMemory(pooledDesc, owning: true)
        forwardSteps.append((pool, [(DNNL_ARG_SRC, current), (DNNL_ARG_DST, pooled)]))
        plainOutput = DNNLMemory(plainLayout([batch, channels, 1, 1], dnnl_nchw), owning: false)
        forwardSteps.append(reorder(pooled, plainOutput))
        guard training else { return }

        // Backward, in reverse: pooling, then each block (ReLU, both branches, the sum of the
        // input gradients), then the stem's weights (nothing upstream learns).
        plainOutputGradient = DNNLMemory(plainOutput.desc, owning: false)
        let pooledGradient = DNNLMemory(pooledDesc, owning: true)
        backwardSteps.append(reorder(plainOutputGradient, pooledGradient))
        var diffLast = current.desc, diffPooled = pooledDesc
        var poolingBackward = dnnl_pooling_desc_t()
        check(dnnl_pooling_backward_desc_init(&poolingBackward, dnnl_pooling_avg_include_padding, &diffLast, &diffPooled,
                                              [1, 1], [Int64(h), Int64(w)], zero, zero), "describe global average pooling backward")
        var poolBackPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&poolBackPD, &poolingBackward, nil, sharedEngine, poolPD), "create global average pooling backward")
        var gradient = DNNLMemory(current.desc, owning: true)
        backwardSteps.append((DNNLPrimitive(poolBackPD, "global average pooling backward"),
                              [(DNNL_ARG_DIFF_DST, pooledGradient), (DNNL_ARG_DIFF_SRC, gradient)]))

        for (index, block) in blockRecords.enumerated().reversed() {
            let output = blockOutputs[index]
            var data = output.desc, diff = output.desc
            var reluForward = dnnl_eltwise_desc_t()
            check(dnnl_eltwise_forward_desc_init(&reluForward, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, &data, 0, 0),
                  "describe ReLU")
            var hintPD: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&hintPD, &reluForward, nil, sharedEngine, nil), "create ReLU")
            var reluBackward = dnnl_eltwise_desc_t()
            check(dnnl_eltwise_backward_desc_init(&reluBackward, dnnl_eltwise_relu_use_dst_for_bwd, &diff, &data, 0, 0), "describe ReLU backward")
            var reluPD: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&reluPD, &reluBackward, nil, sharedEngine, hintPD), "create ReLU backward")
            dnnl_primitive_desc_destroy(hintPD)
            backwardSteps.append((DNNLPrimitive(reluPD, "ReLU backward"),
                                  [(DNNL_ARG_DST, output), (DNNL_ARG_DIFF_DST, gradient), (DNNL_ARG_DIFF_SRC, gradient)]))
            let firstGradient = backward(block.second, outputGradient: gradient, dataGradient: true)!
            let inputGradient = backward(block.first, outputGradient: firstGradient, dataGradient: true)!
            let shortcutGradient = block.shortcut.map { backward($0, outputGradient: gradient, dataGradient: true)! } ?? gradient
            var x = inputGradient.desc, y = shortcutGradient.desc, z = inputGradient.desc
            var binary = dnnl_binary_desc_t()
            check(dnnl_binary_desc_init(&binary, dnnl_binary_add, &x, &y, &z), "describe a gradient sum")
            var pd: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&pd, &binary, nil, sharedEngine, nil), "create a gradient sum")
            backwardSteps.append((DNNLPrimitive(pd, "a gradient sum"),
                                  [(DNNL_ARG_SRC_0, inputGradient), (DNNL_ARG_SRC_1, shortcutGradient), (DNNL_ARG_DST, inputGradient)]))
            gradient = inputGradient
        }
        _ = backward(records[0], outputGradient: gradient, dataGradient: false)
    }

    deinit { dnnl_stream_destroy(stream) }

    private func reorder(_ from: DNNLMemory, _ to: DNNLMemory) -> Step { reorderStep(from, to) }

    private func reluAttributes() -> dnnl_primitive_attr_t? {
        var attributes: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attributes), "create attributes")
        var postOps: dnnl_post_ops_t?
        check(dnnl_post_ops_create(&postOps), "create post-ops")
        check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "append ReLU")
        check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set post-ops")
        dnnl_post_ops_destroy(postOps)
        return attributes
    }

    /// Appends one unit's backward steps (batch norm, weight gradient, and the input gradient when
    /// asked) and returns the memory that will hold the input gradient.
    private func backward(_ r: UnitRecord, outputGradient: DNNLMemory, dataGradient: Bool) -> DNNLMemory? {
        let u = r.unit
        var flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        if u.relu { flags |= dnnl_fuse_norm_relu.rawValue }
        var diff = r.convolutionOutput.desc, normalized = r.convolutionOutput.desc
        var normalization = dnnl_batch_normalization_desc_t()
        check(dnnl_batch_normalization_backward_desc_init(&normalization, dnnl_backward, &diff, &normalized, epsilon, flags),
              "describe batch norm \(u.name) backward")
        var normPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&normPD, &normalization, nil, sharedEngine, r.normalization.descriptor),
              "create batch norm \(u.name) backward")
        let convolutionGradient = DNNLMemory(r.convolutionOutput.desc, owning: true)
        let vector = plainLayout([u.outputChannels], dnnl_x)
        let scaleGradient = DNNLMemory(vector, owning: false), shiftGradient = DNNLMemory(vector, owning: false)
        scaleGradient.attach(r.buffers.scaleGradient)
        shiftGradient.attach(r.buffers.shiftGradient)
        var arguments: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, r.convolutionOutput), (DNNL_ARG_MEAN, r.mean), (DNNL_ARG_VARIANCE, r.variance),
                                                (DNNL_ARG_DIFF_DST, outputGradient), (DNNL_ARG_SCALE, r.scale), (DNNL_ARG_SHIFT, r.shift),
                                                (DNNL_ARG_DIFF_SRC, convolutionGradient), (DNNL_ARG_DIFF_SCALE, scaleGradient),
                                                (DNNL_ARG_DIFF_SHIFT, shiftGradient)]
        if let workspace = r.workspace { arguments.append((DNNL_ARG_WORKSPACE, workspace)) }
        backwardSteps.append((DNNLPrimitive(normPD, "batch norm \(u.name) backward"), arguments))

        let weightDims = [u.outputChannels, u.inputChannels, u.kernelSize, u.kernelSize]
        let pad = Int64((u.kernelSize - 1) / 2), strides = [Int64(u.stride), Int64(u.stride)], padding = [pad, pad]
        // oneDNN 2.6 has no fast weight-gradient kernel for a plain NCHW source (it falls back to
        // a reference one, ~1000× slower): the stem's source is described as NHWC instead — the
        // same bytes for one channel, one small reorder otherwise.
        let plainSource = sameLayout(r.source.desc, plainInput.desc)
        var sourceLayout = plainSource ? plainLayout(r.sourceDims, dnnl_nhwc) : r.source.desc
        var diffWeightsAny = plainLayout(weightDims, dnnl_format_tag_any)
        var diffDestination = plainSource ? plainLayout(r.outputDims, dnnl_nhwc) : r.convolutionOutput.desc
        var weightsBackward = dnnl_convolution_desc_t()
        check(dnnl_convolution_backward_weights_desc_init(&weightsBackward, dnnl_convolution_direct, &sourceLayout, &diffWeightsAny,
                                                          nil, &diffDestination, strides, padding, padding),
              "describe convolution \(u.name) backward-weights")
        var weightsPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&weightsPD, &weightsBackward, nil, sharedEngine, r.convolution.descriptor),
              "create convolution \(u.name) backward-weights")
        let weightsGradient = DNNLPrimitive(weightsPD, "convolution \(u.name) backward-weights")
        var weightsSource = r.source, weightsDiff = convolutionGradient
        let wantedSource = weightsGradient.layout(dnnl_query_src_md), wantedDiff = weightsGradient.layout(dnnl_query_diff_dst_md)
        var pre: [Step] = []
        if !sameLayout(wantedSource, r.source.desc) {
            if plainSource && u.inputChannels == 1 {
                weightsSource = DNNLMemory(wantedSource, owning: false)
                plainInputAliases.append(weightsSource)
            } else {
                weightsSource = DNNLMemory(wantedSource, owning: true)
                pre.append(reorder(r.source, weightsSource))
            }
        }
        if !sameLayout(wantedDiff, convolutionGradient.desc) {
            weightsDiff = DNNLMemory(wantedDiff, owning: true)
            pre.append(reorder(convolutionGradient, weightsDiff))
        }
        let diffWeights = DNNLMemory(weightsGradient.layout(dnnl_query_diff_weights_md), owning: true)
        let plainDiffWeights = DNNLMemory(r.plainWeights.desc, owning: false)
        plainDiffWeights.attach(r.buffers.weightGradient)
        backwardSteps += pre
        backwardSteps.append((weightsGradient, [(DNNL_ARG_SRC, weightsSource), (DNNL_ARG_DIFF_DST, weightsDiff),
                                                (DNNL_ARG_DIFF_WEIGHTS, diffWeights)]))
        backwardSteps.append(reorder(diffWeights, plainDiffWeights))
        guard dataGradient else { return nil }

        var diffSource = r.source.desc, dataWeightsAny = plainLayout(weightDims, dnnl_format_tag_any), dataDiff = convolutionGradient.desc
        var dataBackward = dnnl_convolution_desc_t()
        check(dnnl_convolution_backward_data_desc_init(&dataBackward, dnnl_convolution_direct, &diffSource, &dataWeightsAny,
                                                       &dataDiff, strides, padding, padding), "describe convolution \(u.name) backward-data")
        var dataPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&dataPD, &dataBackward, nil, sharedEngine, r.convolution.descriptor),
              "create convolution \(u.name) backward-data")
        let data = DNNLPrimitive(dataPD, "convolution \(u.name) backward-data")
        var weights = r.weights
        let wantedWeights = data.layout(dnnl_query_weights_md)
        if !sameLayout(wantedWeights, r.weights.desc) {
            weights = DNNLMemory(wantedWeights, owning: true)
            backwardSteps.append(reorder(r.plainWeights, weights))
        }
        let inputGradient = DNNLMemory(r.source.desc, owning: true)
        backwardSteps.append((data, [(DNNL_ARG_DIFF_DST, convolutionGradient), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DIFF_SRC, inputGradient)]))
        return inputGradient
    }

    private lazy var forwardArguments = DNNLProgram(forwardSteps)
    private lazy var backwardArguments = DNNLProgram(backwardSteps)

    private func execute(_ program: DNNLProgram) { program.run(on: stream) }

    /// input: plain NCHW; output: plain [N, C], the globally pooled features.
    public func forward(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        plainInput.attach(input)
        plainOutput.attach(output)
        execute(forwardArguments)
    }

    /// Overwrites every unit's weight, scale and shift gradients for the last forward.
    public func backward(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>) {
        precondition(training, "backward on an inference kernel")
        plainInput.attach(input)
        for alias in plainInputAliases { alias.attach(input) }
        plainOutputGradient.attach(outputGradient)
        execute(backwardArguments)
    }

    /// Unit `index`'s batch mean and biased variance from the last training forward.
    public func batchMean(_ index: Int) -> UnsafeMutablePointer<Float> { means[index].pointer }
    public func batchVariance(_ index: Int) -> UnsafeMutablePointer<Float> { variances[index].pointer }
}
