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
struct DepthwiseWeightStep {
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
enum NodeRecord {
    case convolution(ConvolutionRecord)
    case activation(EltwiseFunction, output: DNNLMemory)
    case add
    case pool(DNNLPrimitive, PoolingGeometry, workspace: DNNLMemory?)
}

/// A pooling's algorithm and geometry, as both its forward and backward descriptions need them.
struct PoolingGeometry {
    var algorithm: dnnl_alg_kind_t
    var kernel: [Int64], strides: [Int64], padding: [Int64], paddingEnd: [Int64]
}

struct ConvolutionRecord {
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
final class GraphProgramBuilder: ProgramBuilder {
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
    var values: [DNNLMemory] = []
    var records: [NodeRecord] = []
    /// Each value's gradient summed so far; `owned` when the memory was made for this value alone,
    /// so more can be added in place.
    var pending: [(memory: DNNLMemory, owned: Bool)?] = []

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

    var propagation: dnnl_prop_kind_t { training ? dnnl_forward_training : dnnl_forward_inference }

    func convolution(_ s: ConvolutionShape, input: DNNLMemory, activation: EltwiseFunction?, buffers: ConvolutionParameterBuffers,
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

    func pool(input: DNNLMemory, _ g: PoolingGeometry, outputDims: [Int], _ label: String) throws(OneDNNError) {
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
}
