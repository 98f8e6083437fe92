import CDNNL

/// The graph's backward program: each node's gradient steps in reverse order, gradients of a value
/// read by several nodes summed, split into parts around Akin's own depthwise weight gradient.
extension GraphProgramBuilder {
    func buildBackward() throws(OneDNNError) {
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
    func contribute(_ gradient: DNNLMemory, to value: Int, shared: Bool) throws(OneDNNError) {
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
    func convolutionBackward(_ r: ConvolutionRecord, gradient: DNNLMemory, inputValue: Int) throws(OneDNNError) {
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

    func oneDNNWeightGradient(_ r: ConvolutionRecord, _ weightsGradient: DNNLPrimitive, outputGradient: DNNLMemory,
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

    func dataGradient(_ r: ConvolutionRecord, outputGradient: DNNLMemory, inputValue: Int) throws(OneDNNError) {
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
