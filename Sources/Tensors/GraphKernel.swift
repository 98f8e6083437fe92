import CDNNL

/// Runs a `GraphKernelPlan` for one batch shape as one oneDNN program, every activation in the
/// layout oneDNN chooses for this CPU (nChw8c on AVX2, nChw16c on AVX-512, padded where a width
/// is not a multiple of the block), so nothing is reordered between layers that agree: plain
/// NCHW in, the last value out in plain NCHW. An elementwise function that follows a convolution
/// runs as the convolution's post-op, and its backward pass reads the saved output, so its input
/// is never stored. Backward walks the nodes in reverse and sums the gradients of values read by
/// more than one node (residual connections). The input gets no gradient: the graph is the first
/// layer of its network.
public final class GraphKernel {
    public let plan: GraphKernelPlan
    public let batch: Int, height: Int, width: Int
    public let training: Bool
    public let activationLayout: ActivationLayout
    /// The last value's [N, C, H, W].
    public let outputShape: [Int]

    private let stream: DNNLStream
    private let plainInput: DNNLMemory
    private let plainOutput: DNNLMemory, plainOutputGradient: DNNLMemory
    private let forwardProgram: DNNLProgram
    /// Backward: oneDNN programs, each followed by a weight gradient Akin computes itself.
    private let backwardParts: [(program: DNNLProgram, then: DepthwiseWeightStep?)]

    /// `parameters[i]` holds node i's weights when it is a convolution (nil for other nodes).
    /// `ownDepthwiseWeightGradient`: every depthwise weight gradient by `DepthwiseWeightGradient`,
    /// not only where oneDNN falls back to a slow kernel (tests set it, so that the path runs on
    /// every CPU).
    public init(plan: GraphKernelPlan, batch: Int, height: Int, width: Int, parameters: [ConvolutionParameterBuffers?],
                training: Bool, activationLayout: ActivationLayout = .chosenByOneDNN,
                ownDepthwiseWeightGradient: Bool = false) throws(OneDNNError) {
        precondition(parameters.count == plan.nodes.count, "one parameter entry per node")
        self.plan = plan
        self.batch = batch
        self.height = height
        self.width = width
        self.training = training
        self.activationLayout = activationLayout
        stream = try DNNLStream()
        let builder = try GraphProgramBuilder(plan: plan, batch: batch, height: height, width: width, parameters: parameters,
                                              training: training, layout: activationLayout, alwaysOwnDepthwise: ownDepthwiseWeightGradient)
        outputShape = builder.shapes[plan.nodes.count]
        plainInput = builder.plainInput
        plainOutput = builder.plainOutput
        plainOutputGradient = builder.plainOutputGradient
        forwardProgram = try DNNLProgram(builder.forwardSteps)
        var parts: [(program: DNNLProgram, then: DepthwiseWeightStep?)] = []
        if training {
            for segment in builder.backwardSegments + [(builder.backwardSteps, nil)] { parts.append((try DNNLProgram(segment.steps), segment.then)) }
        }
        backwardParts = parts
    }

    /// How many depthwise weight gradients Akin computes itself, where oneDNN has only a slow kernel.
    public var ownDepthwiseWeightGradients: Int { backwardParts.count { $0.then != nil } }

    /// input: plain NCHW [batch, inputChannels, height, width]; output: plain NCHW `outputShape`.
    public func forward(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) throws(OneDNNError) {
        try plainInput.attach(input)
        try plainOutput.attach(output)
        try forwardProgram.run(on: stream)
    }

    /// Overwrites every convolution's weight and bias gradients for the last forward (whose input
    /// must be passed again). Only on a training kernel.
    public func backward(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>) throws(OneDNNError) {
        guard training else { preconditionFailure("backward on an inference kernel") }
        try plainInput.attach(input)
        try plainOutputGradient.attach(outputGradient)
        let threads = Int(omp_get_max_threads())
        for part in backwardParts {
            try part.program.run(on: stream)
            part.then?.run(threads: threads)
        }
    }
}

/// A depthwise weight gradient computed by `DepthwiseWeightGradient` on activations a oneDNN
/// program has just put in its layout.
private struct DepthwiseWeightStep {
    let kernel: DepthwiseWeightGradient
    let input: DNNLMemory, outputGradient: DNNLMemory
    let buffers: ConvolutionParameterBuffers

    func run(threads: Int) {
        // Read at each run: the input may be the caller's, attached anew each time.
        guard let x = input.pointer, let dy = outputGradient.pointer else { preconditionFailure("a depthwise weight gradient without its buffers") }
        kernel.run(input: x.assumingMemoryBound(to: Float.self), outputGradient: dy.assumingMemoryBound(to: Float.self),
                   weightGradient: buffers.weightGradient, biasGradient: buffers.biasGradient, threads: threads)
    }
}

/// What a node's backward pass needs from its forward pass.
private enum NodeRecord {
    case convolution(ConvolutionRecord)
    case activation(EltwiseFunction, output: DNNLMemory)
    case add
    case pool(DNNLPrimitive, PoolingGeometry, workspace: DNNLMemory?)
}

/// A pooling's algorithm and geometry, as both its forward and backward descriptions need them.
private struct PoolingGeometry {
    var algorithm: dnnl_alg_kind_t
    var kernel: [Int64], strides: [Int64], padding: [Int64], paddingEnd: [Int64]
}

private struct ConvolutionRecord {
    var shape: ConvolutionShape
    var name: String
    var activation: EltwiseFunction?
    var forward: DNNLPrimitive
    /// What the convolution read: its input value, or a copy in the layout it chose.
    var source: DNNLMemory
    var weights: DNNLMemory, plainWeights: DNNLMemory
    var output: DNNLMemory
    var buffers: ConvolutionParameterBuffers
}

/// Builds a `GraphKernel`'s steps: forward in node order, then backward in reverse.
private final class GraphProgramBuilder: ProgramBuilder {
    let plan: GraphKernelPlan
    let training: Bool
    let layout: ActivationLayout
    let alwaysOwnDepthwise: Bool
    let shapes: [[Int]]
    let plainInput: DNNLMemory
    var plainOutput: DNNLMemory!, plainOutputGradient: DNNLMemory!
    /// Backward steps before each weight gradient Akin computes itself (`backwardSteps` holds the rest).
    var backwardSegments: [(steps: [DNNLStep], then: DepthwiseWeightStep?)] = []
    /// The memory holding each value in the forward pass.
    private var values: [DNNLMemory] = []
    private var records: [NodeRecord] = []
    /// Each value's gradient summed so far; `owned` when the memory was made for this value alone,
    /// so more can be added in place.
    private var pending: [(memory: DNNLMemory, owned: Bool)?] = []

    init(plan: GraphKernelPlan, batch: Int, height: Int, width: Int, parameters: [ConvolutionParameterBuffers?],
         training: Bool, layout: ActivationLayout, alwaysOwnDepthwise: Bool) throws(OneDNNError) {
        self.plan = plan
        self.alwaysOwnDepthwise = alwaysOwnDepthwise
        self.training = training
        self.layout = layout
        shapes = plan.valueShapes(input: [batch, plan.inputChannels, height, width])
        plainInput = try DNNLMemory(plainLayout(shapes[0], dnnl_nchw), owning: false)
        values = [plainInput]
        super.init()
        for (index, node) in plan.nodes.enumerated() {
            let label = "node \(index) (\(node.name))"
            switch node.operation {
            case let .convolution(outputs, kernel, stride, padding, paddingEnd, dilation, groups, bias, activation):
                guard let buffers = parameters[index], (buffers.bias != nil) == bias else {
                    preconditionFailure("\(label): a convolution needs its weights\(bias ? " and bias" : "")")
                }
                let x = shapes[node.inputs[0]]
                let shape = ConvolutionShape(batch: x[0], inputChannels: x[1], height: x[2], width: x[3], outputChannels: outputs,
                                             kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd,
                                             dilation: dilation, groups: groups, hasBias: bias)
                try convolution(shape, input: values[node.inputs[0]], activation: activation?.function, buffers: buffers, label)
            case let .activation(activation):
                let function = activation.function, input = values[node.inputs[0]]
                let output = try DNNLMemory(input.desc, owning: true)
                forwardSteps.append(try eltwiseForwardStep(function, input: input, output: output, training: training,
                                                           "\(function.name) \(label) \(shapeText(input.dims))"))
                values.append(output)
                records.append(.activation(function, output: output))
            case .add:
                let a = values[node.inputs[0]], b = try forwardCopy(values[node.inputs[1]], as: values[node.inputs[0]].desc)
                let output = try DNNLMemory(a.desc, owning: true)
                forwardSteps.append(try addStep(a, b, into: output, "the sum \(label) \(shapeText(a.dims))"))
                values.append(output)
                records.append(.add)
            case .globalAveragePool:
                // A pooling whose window is the whole plane.
                let x = shapes[node.inputs[0]]
                let whole = PoolingGeometry(algorithm: dnnl_pooling_avg_include_padding, kernel: [Int64(x[2]), Int64(x[3])],
                                            strides: [1, 1], padding: [0, 0], paddingEnd: [0, 0])
                try pool(input: values[node.inputs[0]], whole, outputDims: shapes[index + 1], "global average pooling \(label)")
            case let .pool(maximum, kernel, stride, padding, paddingEnd, countPadding):
                let geometry = PoolingGeometry(
                    algorithm: maximum ? dnnl_pooling_max : countPadding ? dnnl_pooling_avg_include_padding : dnnl_pooling_avg_exclude_padding,
                    kernel: [Int64(kernel), Int64(kernel)], strides: [Int64(stride), Int64(stride)],
                    padding: [Int64(padding), Int64(padding)], paddingEnd: [Int64(paddingEnd), Int64(paddingEnd)])
                try pool(input: values[node.inputs[0]], geometry, outputDims: shapes[index + 1],
                         "\(maximum ? "max" : "average") pooling \(label), kernel \(kernel), stride \(stride)")
            }
        }
        let last = values[plan.nodes.count]
        plainOutput = try DNNLMemory(plainLayout(last.dims, dnnl_nchw), owning: false)
        plainOutputGradient = try DNNLMemory(plainOutput.desc, owning: false)
        forwardSteps.append(try reorderStep(last, plainOutput))
        guard training else { return }
        try buildBackward()
    }

    private var propagation: dnnl_prop_kind_t { training ? dnnl_forward_training : dnnl_forward_inference }

    private func convolution(_ s: ConvolutionShape, input: DNNLMemory, activation: EltwiseFunction?, buffers: ConvolutionParameterBuffers,
                             _ label: String) throws(OneDNNError) {
        let name = "convolution \(label) \(shapeText(s.inputShape)) → \(shapeText(s.outputShape)), kernel \(s.kernelSize), stride \(s.stride)"
            + (s.groups > 1 ? ", \(s.groups) groups" : "") + (activation.map { ", then \($0.name)" } ?? "")
        let g = s.oneDNNGeometry, wDims = s.oneDNNWeightDims
        // The first convolution reads the caller's plain input: its layout is the convolution's
        // choice even when the tests force one.
        var sourceLayout = try input === plainInput ? anyLayout(s.inputShape) : layout.layout(s.inputShape)
        var weightsAny = try anyLayout(wDims), destinationLayout = try layout.layout(s.outputShape)
        // oneDNN reads a zeroed bias descriptor as "no bias".
        var biasLayout = try s.hasBias ? plainLayout([s.outputChannels], dnnl_x) : dnnl_memory_desc_t()
        var description = dnnl_convolution_desc_t()
        try check(dnnl_dilated_convolution_forward_desc_init(&description, propagation, dnnl_convolution_direct, &sourceLayout, &weightsAny,
                                                             &biasLayout, &destinationLayout, g.strides, g.dilation, g.padding, g.paddingEnd),
                  "describe \(name)")
        let forward = try DNNLPrimitive(&description, name, postOp: activation)
        let source = try forwardCopy(input, as: forward.layout(dnnl_query_src_md))
        let weights = try DNNLMemory(forward.layout(dnnl_query_weights_md), owning: true)
        let plainWeights = try DNNLMemory(plainLayout(wDims, s.oneDNNWeightTag), owning: false)
        try plainWeights.attach(buffers.weight)
        let output = try DNNLMemory(forward.layout(dnnl_query_dst_md), owning: true)
        var arguments: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, source), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DST, output)]
        if let bias = buffers.bias {
            let memory = try DNNLMemory(biasLayout, owning: false)
            try memory.attach(bias)
            arguments.append((DNNL_ARG_BIAS, memory))
        }
        // The weights change at every optimizer step: reordered into the kernel's layout each pass.
        forwardSteps.append(try reorderStep(plainWeights, weights))
        forwardSteps.append((forward, arguments))
        values.append(output)
        records.append(.convolution(ConvolutionRecord(shape: s, name: name, activation: activation, forward: forward, source: source,
                                                      weights: weights, plainWeights: plainWeights, output: output, buffers: buffers)))
    }

    private func pool(input: DNNLMemory, _ g: PoolingGeometry, outputDims: [Int], _ label: String) throws(OneDNNError) {
        let name = "\(label) \(shapeText(input.dims)) → \(shapeText(outputDims))"
        var source = input.desc, destination = try layout.layout(outputDims)
        var description = dnnl_pooling_desc_t()
        try check(dnnl_pooling_forward_desc_init(&description, propagation, g.algorithm, &source, &destination, g.strides, g.kernel,
                                                 g.padding, g.paddingEnd), "describe \(name)")
        let pool = try DNNLPrimitive(&description, name)
        let output = try DNNLMemory(pool.layout(dnnl_query_dst_md), owning: true)
        var arguments: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, input), (DNNL_ARG_DST, output)]
        // Max pooling in training remembers where each maximum was, for its backward pass.
        var workspace: DNNLMemory?
        let workspaceLayout = pool.layout(dnnl_query_workspace_md)
        if workspaceLayout.ndims > 0 {
            let memory = try DNNLMemory(workspaceLayout, owning: true)
            arguments.append((DNNL_ARG_WORKSPACE, memory))
            workspace = memory
        }
        forwardSteps.append((pool, arguments))
        values.append(output)
        records.append(.pool(pool, g, workspace: workspace))
    }

    // MARK: Backward

    private func buildBackward() throws(OneDNNError) {
        pending = Array(repeating: nil, count: plan.nodes.count + 1)
        pending[plan.nodes.count] = (plainOutputGradient, false)
        for (index, node) in plan.nodes.enumerated().reversed() {
            // A value nothing downstream reads gets no gradient, and neither does what made it.
            guard let gradient = pending[index + 1]?.memory else { continue }
            let output = values[index + 1], input = node.inputs[0]
            let label = "node \(index) (\(node.name))"
            // What reads the graph's input passes no gradient on (a convolution still has weights).
            if input == 0, node.operation != .add, !node.operation.isConvolution { continue }
            switch records[index] {
            case let .convolution(record):
                try convolutionBackward(record, gradient: backwardCopy(gradient, as: output.desc), inputValue: input)
            case let .activation(function, output):
                let upstream = try backwardCopy(gradient, as: output.desc)
                let result = try DNNLMemory(output.desc, owning: true)
                backwardSteps.append(try eltwiseBackwardStep(function, output: output, gradient: upstream, into: result,
                                                             "\(function.name) \(label) \(shapeText(output.dims))"))
                try contribute(result, to: input, shared: false)
            case .add:
                for value in node.inputs { try contribute(gradient, to: value, shared: true) }
            case let .pool(pool, g, workspace):
                let source = values[input]
                var diffSource = source.desc, diffDestination = output.desc
                var description = dnnl_pooling_desc_t()
                try check(dnnl_pooling_backward_desc_init(&description, g.algorithm, &diffSource, &diffDestination, g.strides, g.kernel,
                                                          g.padding, g.paddingEnd), "describe \(pool.name) backward")
                let upstream = try backwardCopy(gradient, as: output.desc)
                let result = try DNNLMemory(source.desc, owning: true)
                var arguments: [(Int32, DNNLMemory)] = [(DNNL_ARG_DIFF_DST, upstream), (DNNL_ARG_DIFF_SRC, result)]
                if let workspace { arguments.append((DNNL_ARG_WORKSPACE, workspace)) }
                backwardSteps.append((try DNNLPrimitive(&description, pool.name + " backward", hint: pool), arguments))
                try contribute(result, to: input, shared: false)
            }
        }
    }

    /// Adds `gradient` to value `value`'s gradient (nothing for the input, which gets none).
    /// `shared`: the memory is also another value's gradient, so it must not be added to in place.
    private func contribute(_ gradient: DNNLMemory, to value: Int, shared: Bool) throws(OneDNNError) {
        guard value > 0 else { return }
        let target = values[value].desc
        guard let existing = pending[value] else {
            let copy = try backwardCopy(gradient, as: target)
            pending[value] = (copy, !(shared && copy === gradient))
            return
        }
        let addend = try backwardCopy(gradient, as: target)
        let name = "the gradient sum of value \(value) \(shapeText(values[value].dims))"
        if existing.owned {
            backwardSteps.append(try addStep(existing.memory, addend, into: existing.memory, name))
        } else {
            let sum = try DNNLMemory(target, owning: true)
            backwardSteps.append(try addStep(existing.memory, addend, into: sum, name))
            pending[value] = (sum, true)
        }
    }

    /// One convolution's backward steps: its fused function's, the weight and bias gradients, and
    /// the input gradient unless the input is the graph's.
    private func convolutionBackward(_ r: ConvolutionRecord, gradient: DNNLMemory, inputValue: Int) throws(OneDNNError) {
        let s = r.shape, g = s.oneDNNGeometry, wDims = s.oneDNNWeightDims
        var outputGradient = gradient
        if let activation = r.activation {
            outputGradient = try DNNLMemory(r.output.desc, owning: true)
            backwardSteps.append(try eltwiseBackwardStep(activation, output: r.output, gradient: gradient, into: outputGradient,
                                                         "\(activation.name) of \(r.name)"))
        }

        // Layouts left to oneDNN (and copies made where its choice differs from the forward
        // pass's): it has no fast weight-gradient kernel for every layout the forward pass reads,
        // plain NCHW among them.
        var sourceAny = try anyLayout(s.inputShape), diffWeightsAny = try anyLayout(wDims), diffDestinationAny = try anyLayout(s.outputShape)
        var biasLayout = try s.hasBias ? plainLayout([s.outputChannels], dnnl_x) : dnnl_memory_desc_t()
        var weightsDescription = dnnl_convolution_desc_t()
        try check(dnnl_dilated_convolution_backward_weights_desc_init(&weightsDescription, dnnl_convolution_direct, &sourceAny,
                                                                      &diffWeightsAny, &biasLayout, &diffDestinationAny, g.strides,
                                                                      g.dilation, g.padding, g.paddingEnd),
                  "describe \(r.name) backward-weights")
        let weightsGradient = try DNNLPrimitive(&weightsDescription, r.name + " backward-weights", hint: r.forward)
        if s.groups == s.inputChannels && s.outputChannels == s.inputChannels
            && (alwaysOwnDepthwise || DepthwiseWeightGradient.replaces(implementation: weightsGradient.implementation)) {
            let kernel = try DepthwiseWeightGradient(shape: s)
            let input = try backwardCopy(r.source, as: kernel.inputLayout)
            let gradient = try backwardCopy(outputGradient, as: kernel.outputGradientLayout)
            backwardSegments.append((backwardSteps, DepthwiseWeightStep(kernel: kernel, input: input, outputGradient: gradient, buffers: r.buffers)))
            backwardSteps = []
        } else {
            try oneDNNWeightGradient(r, weightsGradient, outputGradient: outputGradient, biasLayout: biasLayout)
        }
        guard inputValue > 0 else { return }
        try dataGradient(r, outputGradient: outputGradient, inputValue: inputValue)
    }

    private func oneDNNWeightGradient(_ r: ConvolutionRecord, _ weightsGradient: DNNLPrimitive, outputGradient: DNNLMemory,
                                      biasLayout: dnnl_memory_desc_t) throws(OneDNNError) {
        let weightsSource = try backwardCopy(r.source, as: weightsGradient.layout(dnnl_query_src_md))
        let weightsDiff = try backwardCopy(outputGradient, as: weightsGradient.layout(dnnl_query_diff_dst_md))
        let diffWeights = try DNNLMemory(weightsGradient.layout(dnnl_query_diff_weights_md), owning: true)
        let plainDiffWeights = try DNNLMemory(r.plainWeights.desc, owning: false)
        try plainDiffWeights.attach(r.buffers.weightGradient)
        var arguments: [(Int32, DNNLMemory)] = [(DNNL_ARG_SRC, weightsSource), (DNNL_ARG_DIFF_DST, weightsDiff),
                                                (DNNL_ARG_DIFF_WEIGHTS, diffWeights)]
        if let biasGradient = r.buffers.biasGradient {
            let memory = try DNNLMemory(biasLayout, owning: false)
            try memory.attach(biasGradient)
            arguments.append((DNNL_ARG_DIFF_BIAS, memory))
        }
        backwardSteps.append((weightsGradient, arguments))
        backwardSteps.append(try reorderStep(diffWeights, plainDiffWeights))
    }

    private func dataGradient(_ r: ConvolutionRecord, outputGradient: DNNLMemory, inputValue: Int) throws(OneDNNError) {
        let s = r.shape, g = s.oneDNNGeometry, wDims = s.oneDNNWeightDims
        var diffSource = r.source.desc, weightsAny = try anyLayout(wDims), dataDiffAny = try anyLayout(s.outputShape)
        var dataDescription = dnnl_convolution_desc_t()
        try check(dnnl_dilated_convolution_backward_data_desc_init(&dataDescription, dnnl_convolution_direct, &diffSource, &weightsAny,
                                                                   &dataDiffAny, g.strides, g.dilation, g.padding, g.paddingEnd),
                  "describe \(r.name) backward-data")
        let data = try DNNLPrimitive(&dataDescription, r.name + " backward-data", hint: r.forward)
        var weights = r.weights
        let wantedWeights = data.layout(dnnl_query_weights_md)
        if !sameLayout(wantedWeights, r.weights.desc) {
            weights = try DNNLMemory(wantedWeights, owning: true)
            backwardSteps.append(try reorderStep(r.plainWeights, weights))
        }
        let dataDiff = try backwardCopy(outputGradient, as: data.layout(dnnl_query_diff_dst_md))
        let inputGradient = try DNNLMemory(r.source.desc, owning: true)
        backwardSteps.append((data, [(DNNL_ARG_DIFF_DST, dataDiff), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DIFF_SRC, inputGradient)]))
        try contribute(inputGradient, to: inputValue, shared: false)
    }
}
