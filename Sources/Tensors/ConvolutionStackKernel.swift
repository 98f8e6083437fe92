import CDNNL

/// One stage of a convolution stack: a stride-1 SAME convolution, optionally followed by ReLU
/// (fused into the convolution) and by a 2×2 stride-2 max pool with TensorFlow's SAME padding.
public struct ConvolutionStage: Hashable, Sendable {
    public var outputChannels: Int
    public var kernelSize: Int
    public var relu: Bool
    public var pool: Bool

    public init(outputChannels: Int, kernelSize: Int, relu: Bool, pool: Bool) {
        precondition(kernelSize % 2 == 1, "SAME padding here needs an odd kernel, got \(kernelSize)")
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.relu = relu
        self.pool = pool
    }
}

/// Runs a chain of convolution stages on a fixed batch shape with every activation in the layout
/// oneDNN chooses for this CPU (blocked: nChw8c on AVX2, nChw16c on AVX-512): one reorder in at
/// the input, one out at the output, ReLU fused into the convolution, pooling done by oneDNN with
/// a workspace. Parameters stay in plain OIHW outside (optimizer, files, tests) and are reordered
/// in and out per step.
public final class ConvolutionStackKernel {
    public let batch: Int, inputChannels: Int, height: Int, width: Int
    public let stages: [ConvolutionStage]
    public let outputShape: [Int]
    /// Whether `backward` can run: an inference kernel keeps no pooling workspace and builds no
    /// backward primitives.
    public let training: Bool
    public let activationLayout: ActivationLayout

    private let stream: DNNLStream
    // Views attached to callers' plain buffers at each run.
    private let plainInput: DNNLMemory, plainOutput: DNNLMemory, plainOutputGradient: DNNLMemory, plainInputGradient: DNNLMemory
    private let plainWeights: [DNNLMemory], plainBias: [DNNLMemory]
    private let plainInputAliases: [DNNLMemory]   // other views of the caller's input buffer
    private let plainWeightGradients: [DNNLMemory], plainBiasGradients: [DNNLMemory]
    private let arenas: [AlignedBuffer]
    private let forwardProgram: DNNLProgram
    private let backwardProgram: DNNLProgram?, inputGradientProgram: DNNLProgram?

    public init(batch: Int, inputChannels: Int, height: Int, width: Int, stages: [ConvolutionStage], training: Bool = true,
                activationLayout: ActivationLayout = .chosenByOneDNN) throws(OneDNNError) {
        precondition(!stages.isEmpty, "a convolution stack needs a stage")
        self.training = training
        self.activationLayout = activationLayout
        self.batch = batch
        self.inputChannels = inputChannels
        self.height = height
        self.width = width
        self.stages = stages
        stream = try DNNLStream()

        let reorder = reorderStep
        let propagation = training ? dnnl_forward_training : dnnl_forward_inference
        plainInput = try DNNLMemory(plainLayout([batch, inputChannels, height, width], dnnl_nchw), owning: false)
        plainInputGradient = try DNNLMemory(plainInput.desc, owning: false)

        var forwardSteps: [DNNLStep] = [], inputGradientSteps: [DNNLStep] = []
        var plainWeights: [DNNLMemory] = [], plainBias: [DNNLMemory] = [], plainInputAliases: [DNNLMemory] = []
        var plainWeightGradients: [DNNLMemory] = [], plainBiasGradients: [DNNLMemory] = []
        var outputArena: [DNNLMemory] = [], gradientArena: [DNNLMemory] = []
        var channels = inputChannels, h = height, w = width
        var previousOutput = plainInput            // forward: the activation entering this stage
        var previousOutputGradient: DNNLMemory?    // backward: the gradient leaving this stage's input
        var sharedBuffers: [(view: DNNLMemory, owner: DNNLMemory)] = []
        var backwardSegments: [[DNNLStep]] = []    // per stage, from its output gradient to its input gradient

        for (index, stage) in stages.enumerated() {
            let k = stage.kernelSize, pad = Int64((k - 1) / 2)
            let strides: [Int64] = [1, 1], padding: [Int64] = [pad, pad]
            let inputDims = [batch, channels, h, w], outputDims = [batch, stage.outputChannels, h, w]
            let weightDims = [stage.outputChannels, channels, k, k]
            let name = "convolution \(index) \(shapeText(inputDims)) → \(shapeText(outputDims)), kernel \(k)"

            // Forward convolution, ReLU fused as a post-op. The first stage's source is the
            // caller's plain input: its layout is the convolution's choice even when the tests force one.
            var source = try index == 0 ? anyLayout(inputDims) : activationLayout.layout(inputDims)
            var weightsAny = try anyLayout(weightDims), destinationLayout = try activationLayout.layout(outputDims)
            var bias = try plainLayout([stage.outputChannels], dnnl_x)
            var convolution = dnnl_convolution_desc_t()
            try check(dnnl_convolution_forward_desc_init(&convolution, propagation, dnnl_convolution_direct,
                                                         &source, &weightsAny, &bias, &destinationLayout, strides, padding, padding),
                      "describe \(name)")
            let forward = try DNNLPrimitive(&convolution, name, postOp: stage.relu ? .relu : nil)

            let convolutionSourceLayout = forward.layout(dnnl_query_src_md)
            let weights = try DNNLMemory(forward.layout(dnnl_query_weights_md), owning: true)
            let biasMemory = try DNNLMemory(bias, owning: false)
            // A pooled stage's full-size output is dead once pooled (its ReLU backward runs on the
            // pooled tensor, below), and its gradient lives only within this stage's backward: both
            // are views into arenas that every pooled stage shares, sized after the loop.
            let destination = try DNNLMemory(forward.layout(dnnl_query_dst_md), owning: !stage.pool)
            if stage.pool { outputArena.append(destination) }
            let plainW = try DNNLMemory(plainLayout(weightDims, dnnl_oihw), owning: false)
            plainWeights.append(plainW)
            plainBias.append(biasMemory)

            // Bring the incoming activation into this convolution's layout (a no-op view when it already is).
            let convolutionInput: DNNLMemory
            if sameLayout(previousOutput.desc, convolutionSourceLayout) {
                convolutionInput = previousOutput
            } else {
                convolutionInput = try DNNLMemory(convolutionSourceLayout, owning: true)
                forwardSteps.append(try reorder(previousOutput, convolutionInput))
            }
            forwardSteps.append(try reorder(plainW, weights))
            forwardSteps.append((forward, [(DNNL_ARG_SRC, convolutionInput), (DNNL_ARG_WEIGHTS, weights),
                                           (DNNL_ARG_BIAS, biasMemory), (DNNL_ARG_DST, destination)]))

            // Pooling, TensorFlow SAME: output ceil(n/2), the odd edge padded after the end.
            var stageOutput = destination
            var poolBackward: DNNLStep?
            let convolutionOutputGradient: DNNLMemory? = try training ? DNNLMemory(destination.desc, owning: !stage.pool) : nil
            if let convolutionOutputGradient, stage.pool { gradientArena.append(convolutionOutputGradient) }
            var stageOutputGradient = convolutionOutputGradient
            if stage.pool {
                let oh = (h + 1) / 2, ow = (w + 1) / 2
                let pooledDims = [batch, stage.outputChannels, oh, ow]
                let poolName = "pooling \(index) \(shapeText(outputDims)) → \(shapeText(pooledDims))"
                var pooledLayout = try activationLayout.layout(pooledDims)
                var poolSource = destination.desc
                let kernel: [Int64] = [2, 2], poolStrides: [Int64] = [2, 2], before: [Int64] = [0, 0]
                let after: [Int64] = [Int64(2 * oh - h), Int64(2 * ow - w)]
                var pooling = dnnl_pooling_desc_t()
                try check(dnnl_pooling_forward_desc_init(&pooling, propagation, dnnl_pooling_max, &poolSource, &pooledLayout,
                                                         poolStrides, kernel, before, after), "describe \(poolName)")
                let poolForward = try DNNLPrimitive(&pooling, poolName)
                let pooled = try DNNLMemory(poolForward.layout(dnnl_query_dst_md), owning: true)
                stageOutput = pooled
                h = oh
                w = ow
                if let convolutionOutputGradient {
                    let workspace = try DNNLMemory(poolForward.layout(dnnl_query_workspace_md), owning: true)
                    forwardSteps.append((poolForward, [(DNNL_ARG_SRC, destination), (DNNL_ARG_DST, pooled), (DNNL_ARG_WORKSPACE, workspace)]))
                    var diffSource = destination.desc, diffDestination = pooled.desc
                    var poolingBackward = dnnl_pooling_desc_t()
                    try check(dnnl_pooling_backward_desc_init(&poolingBackward, dnnl_pooling_max, &diffSource, &diffDestination,
                                                              poolStrides, kernel, before, after), "describe \(poolName) backward")
                    let backward = try DNNLPrimitive(&poolingBackward, poolName + " backward", hint: poolForward)
                    let pooledGradient = try DNNLMemory(pooled.desc, owning: true)
                    stageOutputGradient = pooledGradient
                    poolBackward = (backward, [(DNNL_ARG_DIFF_DST, pooledGradient), (DNNL_ARG_WORKSPACE, workspace),
                                               (DNNL_ARG_DIFF_SRC, convolutionOutputGradient)])
                } else {
                    forwardSteps.append((poolForward, [(DNNL_ARG_SRC, destination), (DNNL_ARG_DST, pooled)]))
                }
            }
            guard let convolutionOutputGradient, let stageOutputGradient else {
                previousOutput = stageOutput
                channels = stage.outputChannels
                continue
            }

            // Backward: pooling, ReLU (from the saved output), weights, and data.
            var segment: [DNNLStep] = []
            // ReLU before a max pool: the pool passes the gradient to its window's winner, whose ReLU
            // passes it iff the pooled value is positive. So the ReLU backward runs on the pooled
            // tensor, before the pool backward, and the full-size output need not be kept.
            let reluData = stage.pool ? stageOutput : destination
            let reluGradient = stage.pool ? stageOutputGradient : convolutionOutputGradient
            if stage.relu {
                segment.append(try eltwiseBackwardStep(.relu, output: reluData, gradient: reluGradient, into: reluGradient, "ReLU \(index) \(shapeText(reluData.dims))"))
            }
            if let poolBackward { segment.append(poolBackward) }

            // The weight gradient of a convolution whose input is plain NCHW (the first one) has no
            // fast kernel in oneDNN 2.6: it falls back to a reference one, ~1000× slower here. Its
            // input is described as NHWC instead (the same bytes when there is one channel, one
            // small reorder otherwise) and the layouts of the rest are left to oneDNN.
            let plainSource = sameLayout(convolutionInput.desc, plainInput.desc)
            var sourceLayout = try plainSource ? plainLayout(inputDims, dnnl_nhwc) : convolutionInput.desc
            var diffWeightsAny = try anyLayout(weightDims)
            var diffDestination = try plainSource ? plainLayout(outputDims, dnnl_nhwc) : destination.desc
            var weightsBackward = dnnl_convolution_desc_t()
            try check(dnnl_convolution_backward_weights_desc_init(&weightsBackward, dnnl_convolution_direct, &sourceLayout, &diffWeightsAny,
                                                                  &bias, &diffDestination, strides, padding, padding),
                      "describe \(name) backward-weights")
            let weightsGradient = try DNNLPrimitive(&weightsBackward, name + " backward-weights", hint: forward)
            let diffWeights = try DNNLMemory(weightsGradient.layout(dnnl_query_diff_weights_md), owning: true)
            let plainDiffWeights = try DNNLMemory(plainW.desc, owning: false), plainDiffBias = try DNNLMemory(bias, owning: false)
            plainWeightGradients.append(plainDiffWeights)
            plainBiasGradients.append(plainDiffBias)
            var weightsSource = convolutionInput, weightsDiffDestination = convolutionOutputGradient
            let wantedSource = weightsGradient.layout(dnnl_query_src_md), wantedDiff = weightsGradient.layout(dnnl_query_diff_dst_md)
            if !sameLayout(wantedSource, convolutionInput.desc) {
                // One channel: NHWC and NCHW are the same bytes, so a view of the input serves.
                if inputDims[1] == 1 && plainSource && sameLayout(wantedSource, sourceLayout) {
                    weightsSource = try DNNLMemory(wantedSource, owning: false)
                    plainInputAliases.append(weightsSource)
                } else {
                    weightsSource = try DNNLMemory(wantedSource, owning: true)
                    segment.append(try reorder(convolutionInput, weightsSource))
                }
            }
            if !sameLayout(wantedDiff, convolutionOutputGradient.desc) {
                // This stage's forward output is read in backward only by its ReLU, which has run by
                // now (and the next stage's backward before it): the reordered gradient goes there.
                var wanted = wantedDiff, output = destination.desc
                if dnnl_memory_desc_get_size(&wanted) <= dnnl_memory_desc_get_size(&output) {
                    weightsDiffDestination = try DNNLMemory(wantedDiff, owning: false)
                    sharedBuffers.append((weightsDiffDestination, destination))
                } else {
                    weightsDiffDestination = try DNNLMemory(wantedDiff, owning: true)
                }
                segment.append(try reorder(convolutionOutputGradient, weightsDiffDestination))
            }
            segment.append((weightsGradient, [(DNNL_ARG_SRC, weightsSource), (DNNL_ARG_DIFF_DST, weightsDiffDestination),
                                              (DNNL_ARG_DIFF_WEIGHTS, diffWeights), (DNNL_ARG_DIFF_BIAS, plainDiffBias)]))
            segment.append(try reorder(diffWeights, plainDiffWeights))

            var diffSourceLayout = convolutionInput.desc, dataWeightsAny = try anyLayout(weightDims)
            var dataDiffDestination = destination.desc
            var dataBackward = dnnl_convolution_desc_t()
            try check(dnnl_convolution_backward_data_desc_init(&dataBackward, dnnl_convolution_direct, &diffSourceLayout, &dataWeightsAny,
                                                               &dataDiffDestination, strides, padding, padding),
                      "describe \(name) backward-data")
            let dataGradient = try DNNLPrimitive(&dataBackward, name + " backward-data", hint: forward)
            let dataWeights = try DNNLMemory(dataGradient.layout(dnnl_query_weights_md), owning: true)
            // The input gradient is written straight into the previous stage's output-gradient buffer
            // (or the caller's plain buffer for stage 0) when the layouts agree, else reordered there.
            let target = previousOutputGradient ?? plainInputGradient
            let direct = sameLayout(convolutionInput.desc, target.desc)
            let inputGradient = try direct ? target : DNNLMemory(convolutionInput.desc, owning: true)
            var dataSteps: [DNNLStep] = []
            let sharesWeights = sameLayout(dataWeights.desc, weights.desc)
            if !sharesWeights { dataSteps.append(try reorder(plainW, dataWeights)) }
            dataSteps.append((dataGradient, [(DNNL_ARG_DIFF_DST, convolutionOutputGradient),
                                             (DNNL_ARG_WEIGHTS, sharesWeights ? weights : dataWeights),
                                             (DNNL_ARG_DIFF_SRC, inputGradient)]))
            if !direct { dataSteps.append(try reorder(inputGradient, target)) }
            if index == 0 {
                inputGradientSteps = dataSteps
            } else {
                segment += dataSteps
            }
            backwardSegments.append(segment)
            previousOutputGradient = stageOutputGradient
            previousOutput = stageOutput
            channels = stage.outputChannels
        }

        // Arenas are zeroed once: a view's padded channels (a width that is not a multiple of the
        // block) then hold zeros or another stage's finite values, never NaN bits, which a
        // zero weight would not cancel.
        var arenas: [AlignedBuffer] = []
        for views in [outputArena, gradientArena] where !views.isEmpty {
            let arena = AlignedBuffer(byteCount: views.map(\.byteCount).max()!)
            arena.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: arena.byteCount)
            arenas.append(arena)
            for view in views { try view.attach(arena.pointer) }
        }
        // Views that borrow another memory's buffer, now that every buffer exists.
        for (view, owner) in sharedBuffers {
            guard let pointer = owner.pointer else { preconditionFailure("a shared buffer's owner has no buffer") }
            try view.attach(pointer)
        }

        outputShape = [batch, channels, h, w]
        plainOutput = try DNNLMemory(plainLayout(outputShape, dnnl_nchw), owning: false)
        plainOutputGradient = try DNNLMemory(plainOutput.desc, owning: false)
        forwardSteps.append(try reorder(previousOutput, plainOutput))
        self.plainWeights = plainWeights
        self.plainBias = plainBias
        self.plainInputAliases = plainInputAliases
        self.plainWeightGradients = plainWeightGradients
        self.plainBiasGradients = plainBiasGradients
        self.arenas = arenas
        forwardProgram = try DNNLProgram(forwardSteps)
        if training, let previousOutputGradient {
            var backwardSteps = [try reorder(plainOutputGradient, previousOutputGradient)]
            for segment in backwardSegments.reversed() { backwardSteps += segment }
            backwardProgram = try DNNLProgram(backwardSteps)
            inputGradientProgram = try DNNLProgram(inputGradientSteps)
        } else {
            backwardProgram = nil
            inputGradientProgram = nil
        }
    }

    /// input: plain NCHW; weights[i]: plain OIHW; output: plain NCHW of `outputShape`.
    public func forward(input: UnsafeMutablePointer<Float>, weights: [UnsafeMutablePointer<Float>],
                        biases: [UnsafeMutablePointer<Float>], output: UnsafeMutablePointer<Float>) throws(OneDNNError) {
        try plainInput.attach(input)
        try plainOutput.attach(output)
        for i in stages.indices {
            try plainWeights[i].attach(weights[i])
            try plainBias[i].attach(biases[i])
        }
        try forwardProgram.run(on: stream)
    }

    /// Gradients for the last forward's input and output: weights and biases (overwritten), and
    /// the input gradient when `inputGradient` is given. Only on a training kernel.
    public func backward(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                         weights: [UnsafeMutablePointer<Float>],
                         weightGradients: [UnsafeMutablePointer<Float>], biasGradients: [UnsafeMutablePointer<Float>],
                         inputGradient: UnsafeMutablePointer<Float>?) throws(OneDNNError) {
        guard let backwardProgram, let inputGradientProgram else { preconditionFailure("backward on an inference kernel") }
        try plainInput.attach(input)
        for alias in plainInputAliases { try alias.attach(input) }
        try plainOutputGradient.attach(outputGradient)
        for i in stages.indices {
            try plainWeights[i].attach(weights[i])
            try plainWeightGradients[i].attach(weightGradients[i])
            try plainBiasGradients[i].attach(biasGradients[i])
        }
        try backwardProgram.run(on: stream)
        if let inputGradient {
            try plainInputGradient.attach(inputGradient)
            try inputGradientProgram.run(on: stream)
        }
    }
}
