import CDNNL

// Every oneDNN call in Akin lives in the Tensors/OneDNN*.swift files, so that moving to oneDNN
// 3.x's API (where operation descriptors are gone and primitive descriptors are created directly)
// touches only them.

func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
    precondition(status == dnnl_success, "oneDNN failed to \(what()) (status \(status.rawValue))")
}

/// The CPU engine, created once for the process.
nonisolated(unsafe) let sharedEngine: dnnl_engine_t = {
    var engine: dnnl_engine_t?
    check(dnnl_engine_create(&engine, dnnl_cpu, 0), "create the CPU engine")
    return engine!
}()

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
/// weights and bias. Created once per shape and reused; buffers are attached at each call.
public final class ConvolutionKernel {
    public let shape: ConvolutionShape
    private var stream: dnnl_stream_t?
    private var forwardPrimitive: dnnl_primitive_t?
    private var backwardDataPrimitive: dnnl_primitive_t?
    private var backwardWeightsPrimitive: dnnl_primitive_t?
    private var primitiveDescriptors: [dnnl_primitive_desc_t?] = []
    private var source: dnnl_memory_t?
    private var weights: dnnl_memory_t?
    private var bias: dnnl_memory_t?
    private var destination: dnnl_memory_t?

    public init(shape: ConvolutionShape) {
        self.shape = shape
        check(dnnl_stream_create(&stream, sharedEngine, UInt32(dnnl_stream_default_flags.rawValue)), "create a stream")

        var sourceDesc = dnnl_memory_desc_t()
        var weightsDesc = dnnl_memory_desc_t()
        var biasDesc = dnnl_memory_desc_t()
        var destinationDesc = dnnl_memory_desc_t()
        let s = shape
        check(dnnl_memory_desc_init_by_tag(&sourceDesc, 4, s.inputShape.map(Int64.init), dnnl_f32, dnnl_nchw), "describe the source")
        check(dnnl_memory_desc_init_by_tag(&weightsDesc, 4, s.weightShape.map(Int64.init), dnnl_f32, dnnl_oihw), "describe the weights")
        check(dnnl_memory_desc_init_by_tag(&biasDesc, 1, [Int64(s.outputChannels)], dnnl_f32, dnnl_x), "describe the bias")
        check(dnnl_memory_desc_init_by_tag(&destinationDesc, 4, s.outputShape.map(Int64.init), dnnl_f32, dnnl_nchw), "describe the destination")

        let strides: [Int64] = [Int64(s.stride), Int64(s.stride)]
        let padding: [Int64] = [Int64(s.padding), Int64(s.padding)]
        // oneDNN reads a zeroed bias descriptor as "no bias".
        if !s.hasBias { biasDesc = dnnl_memory_desc_t() }

        var forwardDesc = dnnl_convolution_desc_t()
        check(dnnl_convolution_forward_desc_init(&forwardDesc, dnnl_forward_training, dnnl_convolution_direct,
                                                 &sourceDesc, &weightsDesc, &biasDesc, &destinationDesc,
                                                 strides, padding, padding), "describe the forward convolution")
        var forwardPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&forwardPD, &forwardDesc, nil, sharedEngine, nil), "create the forward convolution")
        check(dnnl_primitive_create(&forwardPrimitive, forwardPD), "instantiate the forward convolution")

        var dataDesc = dnnl_convolution_desc_t()
        check(dnnl_convolution_backward_data_desc_init(&dataDesc, dnnl_convolution_direct,
                                                       &sourceDesc, &weightsDesc, &destinationDesc,
                                                       strides, padding, padding), "describe the backward-data convolution")
        var dataPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&dataPD, &dataDesc, nil, sharedEngine, forwardPD), "create the backward-data convolution")
        check(dnnl_primitive_create(&backwardDataPrimitive, dataPD), "instantiate the backward-data convolution")

        var weightsGradDesc = dnnl_convolution_desc_t()
        check(dnnl_convolution_backward_weights_desc_init(&weightsGradDesc, dnnl_convolution_direct,
                                                          &sourceDesc, &weightsDesc, &biasDesc, &destinationDesc,
                                                          strides, padding, padding), "describe the backward-weights convolution")
        var weightsPD: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&weightsPD, &weightsGradDesc, nil, sharedEngine, forwardPD), "create the backward-weights convolution")
        check(dnnl_primitive_create(&backwardWeightsPrimitive, weightsPD), "instantiate the backward-weights convolution")
        primitiveDescriptors = [forwardPD, dataPD, weightsPD]

        // The same descriptions serve the gradients, so four memory objects cover every call.
        check(dnnl_memory_create(&source, &sourceDesc, sharedEngine, nil), "create source memory")
        check(dnnl_memory_create(&weights, &weightsDesc, sharedEngine, nil), "create weights memory")
        if s.hasBias { check(dnnl_memory_create(&bias, &biasDesc, sharedEngine, nil), "create bias memory") }
        check(dnnl_memory_create(&destination, &destinationDesc, sharedEngine, nil), "create destination memory")
    }

    deinit {
        for memory in [source, weights, bias, destination] where memory != nil { dnnl_memory_destroy(memory) }
        for primitive in [forwardPrimitive, backwardDataPrimitive, backwardWeightsPrimitive] { dnnl_primitive_destroy(primitive) }
        for descriptor in primitiveDescriptors { dnnl_primitive_desc_destroy(descriptor) }
        dnnl_stream_destroy(stream)
    }

    private func run(_ primitive: dnnl_primitive_t?, _ bindings: [(Int32, dnnl_memory_t?, UnsafeMutablePointer<Float>)]) {
        var arguments: [dnnl_exec_arg_t] = []
        for (slot, memory, pointer) in bindings {
            check(dnnl_memory_set_data_handle(memory, pointer), "attach a buffer")
            arguments.append(dnnl_exec_arg_t(arg: slot, memory: memory))
        }
        check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments), "run a convolution")
        check(dnnl_stream_wait(stream), "wait for a convolution")
    }

    /// output = conv(input, weights) + bias (no bias term when the shape has none).
    public func forward(input: UnsafeMutablePointer<Float>, weights w: UnsafeMutablePointer<Float>,
                        bias b: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        var bindings = [(DNNL_ARG_SRC, source, input), (DNNL_ARG_WEIGHTS, weights, w), (DNNL_ARG_DST, destination, output)]
        if shape.hasBias, let b { bindings.append((DNNL_ARG_BIAS, bias, b)) }
        run(forwardPrimitive, bindings)
    }

    /// inputGradient = convᵀ(outputGradient, weights); overwrites inputGradient.
    public func backwardData(outputGradient: UnsafeMutablePointer<Float>, weights w: UnsafeMutablePointer<Float>,
                             inputGradient: UnsafeMutablePointer<Float>) {
        run(backwardDataPrimitive, [(DNNL_ARG_DIFF_DST, destination, outputGradient), (DNNL_ARG_WEIGHTS, weights, w),
                                    (DNNL_ARG_DIFF_SRC, source, inputGradient)])
    }

    /// Weight and bias gradients for one batch; overwrites both.
    public func backwardWeights(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                                weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?) {
        var bindings = [(DNNL_ARG_SRC, source, input), (DNNL_ARG_DIFF_DST, destination, outputGradient),
                        (DNNL_ARG_DIFF_WEIGHTS, weights, weightGradient)]
        if shape.hasBias, let biasGradient { bindings.append((DNNL_ARG_DIFF_BIAS, bias, biasGradient)) }
        run(backwardWeightsPrimitive, bindings)
    }
}

// MARK: - A whole convolution stack in oneDNN's own layouts

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

/// A memory object: either owning a buffer in oneDNN's chosen layout, or a view that is attached
/// to a caller's plain buffer before each run.
final class DNNLMemory {
    let memory: dnnl_memory_t
    let desc: dnnl_memory_desc_t

    init(_ desc: dnnl_memory_desc_t, owning: Bool) {
        var d = desc
        var m: dnnl_memory_t?
        // DNNL_MEMORY_ALLOCATE is (void *)-1: oneDNN allocates and owns the buffer.
        check(dnnl_memory_create(&m, &d, sharedEngine, owning ? UnsafeMutableRawPointer(bitPattern: UInt.max) : nil), "create memory")
        memory = m!
        self.desc = desc
    }

    func attach(_ pointer: UnsafeMutableRawPointer) { check(dnnl_memory_set_data_handle(memory, pointer), "attach a buffer") }

    var pointer: UnsafeMutablePointer<Float> {
        var handle: UnsafeMutableRawPointer?
        check(dnnl_memory_get_data_handle(memory, &handle), "read a buffer")
        return handle!.assumingMemoryBound(to: Float.self)
    }

    deinit { dnnl_memory_destroy(memory) }
}

final class DNNLPrimitive {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    /// Takes ownership of a primitive descriptor that oneDNN created.
    init(_ descriptor: dnnl_primitive_desc_t?, _ what: String) {
        self.descriptor = descriptor!
        var p: dnnl_primitive_t?
        check(dnnl_primitive_create(&p, descriptor), "instantiate \(what)")
        primitive = p!
    }

    func layout(_ query: dnnl_query_t) -> dnnl_memory_desc_t { dnnl_primitive_desc_query_md(descriptor, query, 0)!.pointee }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }
}

func plainLayout(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
    var md = dnnl_memory_desc_t()
    check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims.map(Int64.init), dnnl_f32, tag), "describe \(dims)")
    return md
}

func sameLayout(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
    var x = a, y = b
    return dnnl_memory_desc_equal(&x, &y) != 0
}

/// One primitive with the memories bound to its arguments: the unit the fused kernels list.
typealias DNNLStep = (primitive: DNNLPrimitive, arguments: [(Int32, DNNLMemory)])

/// A step that copies `from` into `to`, converting the layout.
func reorderStep(_ from: DNNLMemory, _ to: DNNLMemory) -> DNNLStep {
    var pd: dnnl_primitive_desc_t?
    var a = from.desc, b = to.desc
    check(dnnl_reorder_primitive_desc_create(&pd, &a, sharedEngine, &b, sharedEngine, nil), "create a reorder")
    return (DNNLPrimitive(pd, "a reorder"), [(DNNL_ARG_FROM, from), (DNNL_ARG_TO, to)])
}

/// A list of steps with their argument arrays built once, so running it allocates nothing.
struct DNNLProgram {
    private let steps: [(dnnl_primitive_t, [dnnl_exec_arg_t])]

    init(_ list: [DNNLStep]) {
        steps = list.map { step in (step.primitive.primitive, step.arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }) }
    }

    func run(on stream: dnnl_stream_t?) {
        for (primitive, arguments) in steps {
            arguments.withUnsafeBufferPointer { list in
                check(dnnl_primitive_execute(primitive, stream, Int32(list.count), list.baseAddress), "run a primitive")
            }
        }
        check(dnnl_stream_wait(stream), "wait for the stream")
    }
}

/// Runs a chain of convolution stages on a fixed batch shape with every activation in the layout
/// oneDNN prefers (blocked, e.g. nChw8c on AVX2): one reorder in at the input, one out at the
/// output, ReLU fused into the convolution, pooling done by oneDNN with a workspace. Parameters
/// stay in plain OIHW outside (optimizer, files, tests) and are reordered in and out per step.
public final class ConvolutionStackKernel {
    public let batch: Int, inputChannels: Int, height: Int, width: Int
    public let stages: [ConvolutionStage]
    public let outputShape: [Int]

    private typealias Step = DNNLStep
    private var stream: dnnl_stream_t?
    private var forwardSteps: [Step] = []
    private var backwardSteps: [Step] = []
    private var inputGradientSteps: [Step] = []
    // Views attached to callers' plain buffers at each run.
    private let plainInput: DNNLMemory, plainOutput: DNNLMemory, plainOutputGradient: DNNLMemory, plainInputGradient: DNNLMemory
    private var plainWeights: [DNNLMemory] = [], plainBias: [DNNLMemory] = []
    private var plainInputAliases: [DNNLMemory] = []   // other views of the caller's input buffer
    private var outputArena: [DNNLMemory] = [], gradientArena: [DNNLMemory] = []
    private var arenas: [UnsafeMutableRawPointer] = []
    private var plainWeightGradients: [DNNLMemory] = [], plainBiasGradients: [DNNLMemory] = []

    /// Whether `backward` can run: an inference kernel keeps no pooling workspace and builds no
    /// backward primitives.
    public let training: Bool

    public init(batch: Int, inputChannels: Int, height: Int, width: Int, stages: [ConvolutionStage], training: Bool = true) {
        precondition(!stages.isEmpty, "a convolution stack needs a stage")
        self.training = training
        self.batch = batch
        self.inputChannels = inputChannels
        self.height = height
        self.width = width
        self.stages = stages
        check(dnnl_stream_create(&stream, sharedEngine, UInt32(dnnl_stream_default_flags.rawValue)), "create a stream")

        let reorder = reorderStep
        func any(_ dims: [Int]) -> dnnl_memory_desc_t { plainLayout(dims, dnnl_format_tag_any) }

        plainInput = DNNLMemory(plainLayout([batch, inputChannels, height, width], dnnl_nchw), owning: false)
        plainInputGradient = DNNLMemory(plainInput.desc, owning: false)

        var channels = inputChannels, h = height, w = width
        var previousOutput = plainInput            // forward: the activation entering this stage
        var previousOutputGradient: DNNLMemory?    // backward: the gradient leaving this stage's input
        var sharedBuffers: [(view: DNNLMemory, owner: DNNLMemory)] = []
        var backwardSegments: [[Step]] = []        // per stage, from its output gradient to its input gradient

        for (index, stage) in stages.enumerated() {
            let k = stage.kernelSize, pad = Int64((k - 1) / 2)
            let strides: [Int64] = [1, 1], padding: [Int64] = [pad, pad]
            let inputDims = [batch, channels, h, w], outputDims = [batch, stage.outputChannels, h, w]
            let weightDims = [stage.outputChannels, channels, k, k]

            // Forward convolution, ReLU fused as a post-op.
            var sourceAny = any(inputDims), weightsAny = any(weightDims), destinationAny = any(outputDims)
            var bias = plainLayout([stage.outputChannels], dnnl_x)
            var convolution = dnnl_convolution_desc_t()
            let propagation = training ? dnnl_forward_training : dnnl_forward_inference
            check(dnnl_convolution_forward_desc_init(&convolution, propagation, dnnl_convolution_direct,
                                                     &sourceAny, &weightsAny, &bias, &destinationAny, strides, padding, padding),
                  "describe convolution \(index)")
            var attributes: dnnl_primitive_attr_t?
            check(dnnl_primitive_attr_create(&attributes), "create attributes")
            if stage.relu {
                var postOps: dnnl_post_ops_t?
                check(dnnl_post_ops_create(&postOps), "create post-ops")
                check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "append ReLU")
                check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set post-ops")
                dnnl_post_ops_destroy(postOps)
            }
            var forwardPD: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&forwardPD, &convolution, attributes, sharedEngine, nil), "create convolution \(index)")
            dnnl_primitive_attr_destroy(attributes)
            let forward = DNNLPrimitive(forwardPD, "convolution \(index)")

            let convolutionSourceLayout = forward.layout(dnnl_query_src_md)
            let weights = DNNLMemory(forward.layout(dnnl_query_weights_md), owning: true)
            let biasMemory = DNNLMemory(bias, owning: false)
            // A pooled stage's full-size output is dead once pooled (its ReLU backward runs on the
            // pooled tensor, below), and its gradient lives only within this stage's backward: both
            // are views into arenas that every pooled stage shares, sized after the loop.
            let destination = DNNLMemory(forward.layout(dnnl_query_dst_md), owning: !stage.pool)
            if stage.pool { outputArena.append(destination) }
            let plainW = DNNLMemory(plainLayout(weightDims, dnnl_oihw), owning: false)
            plainWeights.append(plainW)
            plainBias.append(biasMemory)

            // Bring the incoming activation into this convolution's layout (a no-op view when it already is).
            let convolutionInput: DNNLMemory
            if sameLayout(previousOutput.desc, convolutionSourceLayout) {
                convolutionInput = previousOutput
            } else {
                convolutionInput = DNNLMemory(convolutionSourceLayout, owning: true)
                forwardSteps.append(reorder(previousOutput, convolutionInput))
            }
            forwardSteps.append(reorder(plainW, weights))
            forwardSteps.append((forward, [(DNNL_ARG_SRC, convolutionInput), (DNNL_ARG_WEIGHTS, weights),
                                           (DNNL_ARG_BIAS, biasMemory), (DNNL_ARG_DST, destination)]))

            // Pooling, TensorFlow SAME: output ceil(n/2), the odd edge padded after the end.
            var stageOutput = destination
            var poolBackward: Step?
            let convolutionOutputGradient: DNNLMemory! = training ? DNNLMemory(destination.desc, owning: !stage.pool) : nil
            if training && stage.pool { gradientArena.append(convolutionOutputGradient) }
            let stageOutputGradient: DNNLMemory
            if stage.pool {
                let oh = (h + 1) / 2, ow = (w + 1) / 2
                var pooledAny = any([batch, stage.outputChannels, oh, ow])
                var poolSource = destination.desc
                let kernel: [Int64] = [2, 2], poolStrides: [Int64] = [2, 2], before: [Int64] = [0, 0]
                let after: [Int64] = [Int64(2 * oh - h), Int64(2 * ow - w)]
                var pooling = dnnl_pooling_desc_t()
                check(dnnl_pooling_forward_desc_init(&pooling, propagation, dnnl_pooling_max, &poolSource, &pooledAny,
                                                     poolStrides, kernel, before, after), "describe pooling \(index)")
                var poolPD: dnnl_primitive_desc_t?
                check(dnnl_primitive_desc_create(&poolPD, &pooling, nil, sharedEngine, nil), "create pooling \(index)")
                let poolForward = DNNLPrimitive(poolPD, "pooling \(index)")
                let pooled = DNNLMemory(poolForward.layout(dnnl_query_dst_md), owning: true)
                stageOutput = pooled
                h = oh
                w = ow
                guard training else {
                    forwardSteps.append((poolForward, [(DNNL_ARG_SRC, destination), (DNNL_ARG_DST, pooled)]))
                    previousOutput = stageOutput
                    channels = stage.outputChannels
                    continue
                }
                let workspace = DNNLMemory(poolForward.layout(dnnl_query_workspace_md), owning: true)
                forwardSteps.append((poolForward, [(DNNL_ARG_SRC, destination), (DNNL_ARG_DST, pooled), (DNNL_ARG_WORKSPACE, workspace)]))

                var diffSource = destination.desc, diffDestination = pooled.desc
                var poolingBackward = dnnl_pooling_desc_t()
                check(dnnl_pooling_backward_desc_init(&poolingBackward, dnnl_pooling_max, &diffSource, &diffDestination,
                                                      poolStrides, kernel, before, after), "describe pooling \(index) backward")
                var poolBackwardPD: dnnl_primitive_desc_t?
                check(dnnl_primitive_desc_create(&poolBackwardPD, &poolingBackward, nil, sharedEngine, poolForward.descriptor),
                      "create pooling \(index) backward")
                let backward = DNNLPrimitive(poolBackwardPD, "pooling \(index) backward")
                stageOutputGradient = DNNLMemory(pooled.desc, owning: true)
                poolBackward = (backward, [(DNNL_ARG_DIFF_DST, stageOutputGradient), (DNNL_ARG_WORKSPACE, workspace),
                                           (DNNL_ARG_DIFF_SRC, convolutionOutputGradient)])
            } else {
                stageOutputGradient = convolutionOutputGradient
            }
            guard training else {
                previousOutput = stageOutput
                channels = stage.outputChannels
                continue
            }

            // Backward: pooling, ReLU (from the saved output), weights, and data.
            var segment: [Step] = []
            // ReLU before a max pool: the pool passes the gradient to its window's winner, whose ReLU
            // passes it iff the pooled value is positive. So the ReLU backward runs on the pooled
            // tensor, before the pool backward, and the full-size output need not be kept.
            let reluData = stage.pool ? stageOutput : destination
            let reluGradient: DNNLMemory = stage.pool ? stageOutputGradient : convolutionOutputGradient
            if stage.relu {
                var data = reluData.desc
                var reluForward = dnnl_eltwise_desc_t()
                check(dnnl_eltwise_forward_desc_init(&reluForward, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, &data, 0, 0),
                      "describe ReLU \(index)")
                var hintPD: dnnl_primitive_desc_t?
                check(dnnl_primitive_desc_create(&hintPD, &reluForward, nil, sharedEngine, nil), "create ReLU \(index)")
                var reluBackward = dnnl_eltwise_desc_t()
                var diff = reluData.desc
                check(dnnl_eltwise_backward_desc_init(&reluBackward, dnnl_eltwise_relu_use_dst_for_bwd, &diff, &data, 0, 0),
                      "describe ReLU \(index) backward")
                var reluPD: dnnl_primitive_desc_t?
                check(dnnl_primitive_desc_create(&reluPD, &reluBackward, nil, sharedEngine, hintPD), "create ReLU \(index) backward")
                dnnl_primitive_desc_destroy(hintPD)
                // In place: oneDNN's eltwise backward may write the gradient over its input gradient.
                segment.append((DNNLPrimitive(reluPD, "ReLU \(index) backward"),
                                [(DNNL_ARG_DST, reluData), (DNNL_ARG_DIFF_DST, reluGradient), (DNNL_ARG_DIFF_SRC, reluGradient)]))
            }
            if let poolBackward { segment.append(poolBackward) }

            // The weight gradient of a convolution whose input is plain NCHW (the first one) has no
            // fast kernel in oneDNN 2.6: it falls back to a reference one, ~1000× slower here. Its
            // input is described as NHWC instead (the same bytes when there is one channel, one
            // small reorder otherwise) and the layouts of the rest are left to oneDNN.
            let plainSource = sameLayout(convolutionInput.desc, plainInput.desc)
            var sourceLayout = plainSource ? plainLayout(inputDims, dnnl_nhwc) : convolutionInput.desc
            var diffWeightsAny = any(weightDims)
            var diffDestination = plainSource ? plainLayout(outputDims, dnnl_nhwc) : destination.desc
            var weightsBackward = dnnl_convolution_desc_t()
            check(dnnl_convolution_backward_weights_desc_init(&weightsBackward, dnnl_convolution_direct, &sourceLayout, &diffWeightsAny,
                                                              &bias, &diffDestination, strides, padding, padding),
                  "describe convolution \(index) backward-weights")
            var weightsPD: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&weightsPD, &weightsBackward, nil, sharedEngine, forward.descriptor),
                  "create convolution \(index) backward-weights")
            let weightsGradient = DNNLPrimitive(weightsPD, "convolution \(index) backward-weights")
            let diffWeights = DNNLMemory(weightsGradient.layout(dnnl_query_diff_weights_md), owning: true)
            let plainDiffWeights = DNNLMemory(plainW.desc, owning: false), plainDiffBias = DNNLMemory(bias, owning: false)
            plainWeightGradients.append(plainDiffWeights)
            plainBiasGradients.append(plainDiffBias)
            var weightsSource = convolutionInput, weightsDiffDestination: DNNLMemory = convolutionOutputGradient
            let wantedSource = weightsGradient.layout(dnnl_query_src_md), wantedDiff = weightsGradient.layout(dnnl_query_diff_dst_md)
            if !sameLayout(wantedSource, convolutionInput.desc) {
                weightsSource = DNNLMemory(wantedSource, owning: true)
                // One channel: NHWC and NCHW are the same bytes, so a view of the input serves.
                if inputDims[1] == 1 && plainSource {
                    weightsSource = DNNLMemory(wantedSource, owning: false)
                    plainInputAliases.append(weightsSource)
                } else {
                    segment.append(reorder(convolutionInput, weightsSource))
                }
            }
            if !sameLayout(wantedDiff, convolutionOutputGradient.desc) {
                // This stage's forward output is read in backward only by its ReLU, which has run by
                // now (and the next stage's backward before it): the reordered gradient goes there.
                var wanted = wantedDiff, output = destination.desc
                if dnnl_memory_desc_get_size(&wanted) <= dnnl_memory_desc_get_size(&output) {
                    weightsDiffDestination = DNNLMemory(wantedDiff, owning: false)
                    sharedBuffers.append((weightsDiffDestination, destination))
                } else {
                    weightsDiffDestination = DNNLMemory(wantedDiff, owning: true)
                }
                segment.append(reorder(convolutionOutputGradient, weightsDiffDestination))
            }
            segment.append((weightsGradient, [(DNNL_ARG_SRC, weightsSource), (DNNL_ARG_DIFF_DST, weightsDiffDestination),
                                              (DNNL_ARG_DIFF_WEIGHTS, diffWeights), (DNNL_ARG_DIFF_BIAS, plainDiffBias)]))
            segment.append(reorder(diffWeights, plainDiffWeights))

            var diffSourceLayout = convolutionInput.desc, dataWeightsAny = any(weightDims), dataDiffDestination = destination.desc
            var dataBackward = dnnl_convolution_desc_t()
            check(dnnl_convolution_backward_data_desc_init(&dataBackward, dnnl_convolution_direct, &diffSourceLayout, &dataWeightsAny,
                                                           &dataDiffDestination, strides, padding, padding),
                  "describe convolution \(index) backward-data")
            var dataPD: dnnl_primitive_desc_t?
            check(dnnl_primitive_desc_create(&dataPD, &dataBackward, nil, sharedEngine, forward.descriptor),
                  "create convolution \(index) backward-data")
            let dataGradient = DNNLPrimitive(dataPD, "convolution \(index) backward-data")
            let dataWeights = DNNLMemory(dataGradient.layout(dnnl_query_weights_md), owning: true)
            // The input gradient is written straight into the previous stage's output-gradient buffer
            // (or the caller's plain buffer for stage 0) when the layouts agree, else reordered there.
            let target = previousOutputGradient ?? plainInputGradient
            let direct = sameLayout(convolutionInput.desc, target.desc)
            let inputGradient = direct ? target : DNNLMemory(convolutionInput.desc, owning: true)
            var dataSteps: [Step] = []
            if !sameLayout(dataWeights.desc, weights.desc) { dataSteps.append(reorder(plainW, dataWeights)) }
            dataSteps.append((dataGradient, [(DNNL_ARG_DIFF_DST, convolutionOutputGradient),
                                             (DNNL_ARG_WEIGHTS, sameLayout(dataWeights.desc, weights.desc) ? weights : dataWeights),
                                             (DNNL_ARG_DIFF_SRC, inputGradient)]))
            if !direct { dataSteps.append(reorder(inputGradient, target)) }
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

        for views in [outputArena, gradientArena] where !views.isEmpty {
            let bytes = views.map { view -> Int in var d = view.desc; return dnnl_memory_desc_get_size(&d) }.max()!
            let arena = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            arenas.append(arena)
            for view in views { view.attach(arena) }
        }
        // Views that borrow another memory's buffer, now that every buffer exists.
        for (view, owner) in sharedBuffers { view.attach(UnsafeMutableRawPointer(owner.pointer)) }

        outputShape = [batch, channels, h, w]
        plainOutput = DNNLMemory(plainLayout(outputShape, dnnl_nchw), owning: false)
        plainOutputGradient = DNNLMemory(plainOutput.desc, owning: false)
        forwardSteps.append(reorder(previousOutput, plainOutput))
        guard training else { return }
        backwardSteps.append(reorder(plainOutputGradient, previousOutputGradient!))
        for segment in backwardSegments.reversed() { backwardSteps += segment }
    }

    deinit {
        dnnl_stream_destroy(stream)
        for arena in arenas { arena.deallocate() }
    }

    private lazy var forwardArguments = DNNLProgram(forwardSteps)
    private lazy var backwardArguments = DNNLProgram(backwardSteps)
    private lazy var inputGradientArguments = DNNLProgram(inputGradientSteps)

    private func execute(_ program: DNNLProgram) { program.run(on: stream) }

    /// input: plain NCHW; weights[i]: plain OIHW; output: plain NCHW of `outputShape`.
    public func forward(input: UnsafeMutablePointer<Float>, weights: [UnsafeMutablePointer<Float>],
                        biases: [UnsafeMutablePointer<Float>], output: UnsafeMutablePointer<Float>) {
        plainInput.attach(input)
        plainOutput.attach(output)
        for i in stages.indices {
            plainWeights[i].attach(weights[i])
            plainBias[i].attach(biases[i])
        }
        execute(forwardArguments)
    }

    /// Gradients for the last forward's input and output: weights and biases (overwritten), and
    /// the input gradient when `inputGradient` is given.
    public func backward(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                         weights: [UnsafeMutablePointer<Float>],
                         weightGradients: [UnsafeMutablePointer<Float>], biasGradients: [UnsafeMutablePointer<Float>],
                         inputGradient: UnsafeMutablePointer<Float>?) {
        precondition(training, "backward on an inference kernel")
        plainInput.attach(input)
        for alias in plainInputAliases { alias.attach(input) }
        plainOutputGradient.attach(outputGradient)
        for i in stages.indices {
            plainWeights[i].attach(weights[i])
            plainWeightGradients[i].attach(weightGradients[i])
            plainBiasGradients[i].attach(biasGradients[i])
        }
        execute(backwardArguments)
        if let inputGradient {
            plainInputGradient.attach(inputGradient)
            execute(inputGradientArguments)
        }
    }
}
