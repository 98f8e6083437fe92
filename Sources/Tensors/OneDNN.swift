import CDNNL

// Every oneDNN call in Akin lives in this file, so that moving to oneDNN 3.x's API (where
// operation descriptors are gone and primitive descriptors are created directly) touches only it.

private func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
    precondition(status == dnnl_success, "oneDNN failed to \(what()) (status \(status.rawValue))")
}

/// The CPU engine, created once for the process.
private nonisolated(unsafe) let sharedEngine: dnnl_engine_t = {
    var engine: dnnl_engine_t?
    check(dnnl_engine_create(&engine, dnnl_cpu, 0), "create the CPU engine")
    return engine!
}()

/// Shape of a stride-1 convolution with SAME padding and an odd square kernel, on NCHW
/// activations and OIHW weights.
public struct ConvolutionShape: Hashable, Sendable {
    public var batch: Int
    public var inputChannels: Int
    public var height: Int
    public var width: Int
    public var outputChannels: Int
    public var kernelSize: Int

    public init(batch: Int, inputChannels: Int, height: Int, width: Int, outputChannels: Int, kernelSize: Int) {
        precondition(kernelSize % 2 == 1, "SAME padding here needs an odd kernel, got \(kernelSize)")
        self.batch = batch
        self.inputChannels = inputChannels
        self.height = height
        self.width = width
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
    }

    public var inputShape: [Int] { [batch, inputChannels, height, width] }
    public var outputShape: [Int] { [batch, outputChannels, height, width] }
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

        let strides: [Int64] = [1, 1]
        let pad = Int64((s.kernelSize - 1) / 2)
        let padding: [Int64] = [pad, pad]

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
        check(dnnl_memory_create(&bias, &biasDesc, sharedEngine, nil), "create bias memory")
        check(dnnl_memory_create(&destination, &destinationDesc, sharedEngine, nil), "create destination memory")
    }

    deinit {
        for memory in [source, weights, bias, destination] { dnnl_memory_destroy(memory) }
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

    /// output = conv(input, weights) + bias
    public func forward(input: UnsafeMutablePointer<Float>, weights w: UnsafeMutablePointer<Float>,
                        bias b: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        run(forwardPrimitive, [(DNNL_ARG_SRC, source, input), (DNNL_ARG_WEIGHTS, weights, w),
                               (DNNL_ARG_BIAS, bias, b), (DNNL_ARG_DST, destination, output)])
    }

    /// inputGradient = convᵀ(outputGradient, weights); overwrites inputGradient.
    public func backwardData(outputGradient: UnsafeMutablePointer<Float>, weights w: UnsafeMutablePointer<Float>,
                             inputGradient: UnsafeMutablePointer<Float>) {
        run(backwardDataPrimitive, [(DNNL_ARG_DIFF_DST, destination, outputGradient), (DNNL_ARG_WEIGHTS, weights, w),
                                    (DNNL_ARG_DIFF_SRC, source, inputGradient)])
    }

    /// Weight and bias gradients for one batch; overwrites both.
    public func backwardWeights(input: UnsafeMutablePointer<Float>, outputGradient: UnsafeMutablePointer<Float>,
                                weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>) {
        run(backwardWeightsPrimitive, [(DNNL_ARG_SRC, source, input), (DNNL_ARG_DIFF_DST, destination, outputGradient),
                                       (DNNL_ARG_DIFF_WEIGHTS, weights, weightGradient), (DNNL_ARG_DIFF_BIAS, bias, biasGradient)])
    }
}
