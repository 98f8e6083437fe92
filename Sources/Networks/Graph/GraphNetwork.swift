import Tensors

/// Runs a `GraphSpec` — a network whose values branch and join (residual sums, squeeze-and-
/// excitation gates), as imported networks are — forward and backward. Each node is one of the
/// ordinary layers (Conv2D, BatchNorm2D, ReLU, Clip, Sigmoid, Pool2D, GlobalAveragePool,
/// Flatten, Dense) or an elementwise sum or product computed here. Backward walks the nodes in
/// reverse and adds up the gradients of values read by more than one node.
///
/// The graph's leading convolutions, elementwise functions, sums and pooling (the whole body of
/// MobileNet-, EfficientNet-Lite- and BN-folded ResNet-style networks) run instead as one oneDNN program
/// (`GraphKernel`: blocked layouts, functions fused into the convolutions) when the graph is the
/// first layer of its network; the layers compute the same and remain the reference the tests
/// compare it with (`fused = false`).
public final class GraphNetwork: ModeDependentLayer {
    public let spec: GraphSpec
    private let layers: [Layer?]
    public var needsInputGradient = true {
        didSet { configureInputGradients() }
    }
    public var isTraining = true {
        didSet { for case let layer as ModeDependentLayer in layers.compactMap({ $0 }) { layer.isTraining = isTraining } }
    }
    /// Whether the leading part runs as one oneDNN program (when it can); tests turn it off to
    /// compare with the layers.
    public var fused = true
    /// oneDNN's choice unless a test forces one (see `ActivationLayout`).
    public var activationLayout = ActivationLayout.chosenByOneDNN
    private let fusion: GraphFusion?
    /// How many of the graph's leading nodes run in the oneDNN program (0: none).
    public var fusedNodes: Int { fusion?.end ?? 0 }
    private let fusionParameters: [ConvolutionParameterBuffers?]
    /// The [C, H, W] the fusion was worked out for (its pooling padding depends on it).
    private let fusionInputShape: [Int]
    // One per mode, so a validation in the middle of training rebuilds neither.
    private var trainingKernel: GraphKernel?, inferenceKernel: GraphKernel?
    private var fusedOutput = ReusableTensor()
    private var usedKernel: GraphKernel?

    private var values: [Tensor?] = []
    private var results: [ReusableTensor]
    private var gradients: [ReusableTensor]
    private var sums: [ReusableTensor]

    /// Builds the layers for an input of [C, H, W] per image; `spec.problem(inputShape:)` must be nil.
    public init(spec: GraphSpec, inputShape: [Int], prefix: String) {
        self.spec = spec
        let shapes = Self.valueShapes(of: spec, input: [1] + inputShape)
        var layers: [Layer?] = []
        for (index, node) in spec.nodes.enumerated() {
            let input = shapes[node.inputs[0]], name = prefix + "nodes.\(index)"
            switch node.operation {
            case let .convolution(outputs, kernel, stride, padding, paddingEnd, dilation, groups, bias):
                layers.append(Conv2D(inputChannels: input[1], outputChannels: outputs, kernelSize: kernel, stride: stride, padding: padding,
                                     paddingEnd: paddingEnd, dilation: dilation, groups: groups, bias: bias, name: name))
            case let .batchNorm(epsilon): layers.append(BatchNorm2D(channels: input[1], epsilon: epsilon, name: name))
            case .relu: layers.append(ReLU())
            case let .clip(low, high): layers.append(Clip(low: low, high: high))
            case .sigmoid: layers.append(Sigmoid())
            case let .maxPool(kernel, stride, padding, paddingEnd, ceilMode):
                layers.append(Pool2D(kind: .max, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd, ceilMode: ceilMode))
            case let .averagePool(kernel, stride, padding, paddingEnd, ceilMode, countIncludePad):
                layers.append(Pool2D(kind: .average, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd,
                                     ceilMode: ceilMode, countIncludePad: countIncludePad))
            case .globalAveragePool: layers.append(GlobalAveragePool())
            case .flatten: layers.append(Flatten())
            case let .dense(units): layers.append(Dense(inputSize: input[1], outputSize: units, name: name))
            case .add, .multiply: layers.append(nil)
            }
        }
        self.layers = layers
        fusion = GraphFusion(spec: spec, inputShape: inputShape)
        fusionInputShape = inputShape
        fusionParameters = fusion?.convolutionNodes.map { node in
            node.map { index in
                let convolution = layers[index] as! Conv2D
                return ConvolutionParameterBuffers(weight: convolution.weight.value.pointer, bias: convolution.bias?.value.pointer,
                                                   weightGradient: convolution.weight.gradient.pointer,
                                                   biasGradient: convolution.bias?.gradient.pointer)
            }
        } ?? []
        results = Array(repeating: ReusableTensor(), count: spec.nodes.count)
        gradients = Array(repeating: ReusableTensor(), count: spec.nodes.count * 2)
        sums = Array(repeating: ReusableTensor(), count: spec.nodes.count + 1)
        configureInputGradients()
    }

    public var parameters: [Parameter] { layers.compactMap { $0 }.flatMap(\.parameters) }
    public var buffers: [Parameter] { layers.compactMap { $0 }.flatMap(\.buffers) }

    /// The nodes that read the graph's input compute no input gradient unless this layer must.
    private func configureInputGradients() {
        for (node, layer) in zip(spec.nodes, layers) { layer?.needsInputGradient = needsInputGradient || node.inputs[0] != 0 }
    }

    static func broadcastsOverPlanes(_ full: [Int], _ gate: [Int]) -> Bool {
        full.count == 4 && gate.count == 4 && gate[0] == full[0] && gate[1] == full[1] && gate[2] == 1 && gate[3] == 1
    }

    static func outputShape(of operation: GraphOperation, inputs: [[Int]]) -> [Int] {
        let x = inputs[0]
        switch operation {
        case let .convolution(outputs, kernel, stride, padding, paddingEnd, dilation, _, _):
            let size = { (n: Int) in (n + padding + paddingEnd - ((kernel - 1) * dilation + 1)) / stride + 1 }
            return [x[0], outputs, size(x[2]), size(x[3])]
        case let .maxPool(kernel, stride, padding, paddingEnd, ceilMode):
            return Pool2D(kind: .max, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd, ceilMode: ceilMode)
                .outputShape(for: x)
        case let .averagePool(kernel, stride, padding, paddingEnd, ceilMode, _):
            return Pool2D(kind: .average, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd, ceilMode: ceilMode)
                .outputShape(for: x)
        case .globalAveragePool: return [x[0], x[1], 1, 1]
        case .flatten: return [x[0], x.dropFirst().reduce(1, *)]
        case let .dense(units): return [x[0], units]
        case .multiply: return inputs[1].reduce(1, *) > x.reduce(1, *) ? inputs[1] : x
        case .batchNorm, .relu, .clip, .sigmoid, .add: return x
        }
    }

    /// The shape of every value of `spec` on `inputShape` (batch included): the input's, then each node's.
    static func valueShapes(of spec: GraphSpec, input inputShape: [Int]) -> [[Int]] {
        var shapes = [inputShape]
        for node in spec.nodes { shapes.append(outputShape(of: node.operation, inputs: node.inputs.map { shapes[$0] })) }
        return shapes
    }

    public func outputShape(for inputShape: [Int]) -> [Int] { Self.valueShapes(of: spec, input: inputShape)[spec.output] }

    /// Every node keeps its output until the backward pass.
    public func activationCount(for inputShape: [Int]) -> Int {
        Self.valueShapes(of: spec, input: inputShape).dropFirst().reduce(0) { $0 + $1.reduce(1, *) }
    }

    /// The kernel for this mode and input shape, built when either changes.
    private func kernel(_ fusion: GraphFusion, for shape: [Int]) throws -> GraphKernel {
        let current = isTraining ? trainingKernel : inferenceKernel
        if let current, current.batch == shape[0], current.height == shape[2], current.width == shape[3],
           current.activationLayout == activationLayout {
            return current
        }
        // Release this mode's old primitives and buffers before building the new ones.
        if isTraining { trainingKernel = nil } else { inferenceKernel = nil }
        let fresh = try GraphKernel(plan: fusion.plan, batch: shape[0], height: shape[2], width: shape[3], parameters: fusionParameters,
                                    training: isTraining, activationLayout: activationLayout)
        if isTraining { trainingKernel = fresh } else { inferenceKernel = fresh }
        return fresh
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        values = [Tensor?](repeating: nil, count: spec.nodes.count + 1)
        values[0] = input
        var start = 0
        usedKernel = nil
        // The kernel computes no input gradient: only when nothing upstream needs one.
        if fused, !needsInputGradient, let fusion, Array(input.shape.dropFirst()) == fusionInputShape {
            let kernel = try kernel(fusion, for: input.shape)
            let output = fusedOutput.tensor(shape: kernel.outputShape)
            try kernel.forward(input: input.pointer, output: output.pointer)
            values[fusion.end] = output
            start = fusion.end
            usedKernel = kernel
        }
        for index in start..<spec.nodes.count {
            let node = spec.nodes[index]
            let x = values[node.inputs[0]]!
            switch node.operation {
            case .add:
                let y = values[node.inputs[1]]!, result = results[index].tensor(shape: x.shape)
                for i in 0..<result.count { result.pointer[i] = x.pointer[i] + y.pointer[i] }
                values[index + 1] = result
            case .multiply:
                values[index + 1] = multiply(x, values[node.inputs[1]]!, into: &results[index])
            case .globalAveragePool:
                let pooled = try layers[index]!.forward(x)
                values[index + 1] = pooled.reshaped([x.shape[0], x.shape[1], 1, 1])
            default:
                values[index + 1] = try layers[index]!.forward(x)
            }
        }
        return values[spec.output]!
    }

    /// a ⊙ b, where one of them may be a per-channel gate [N, C, 1, 1] over the other's planes.
    private func multiply(_ a: Tensor, _ b: Tensor, into buffer: inout ReusableTensor) -> Tensor {
        let (full, gate) = a.count >= b.count ? (a, b) : (b, a)
        let result = buffer.tensor(shape: full.shape)
        let plane = full.count / gate.count
        for g in 0..<gate.count {
            let scale = gate.pointer[g], source = full.pointer + g * plane, target = result.pointer + g * plane
            for i in 0..<plane { target[i] = source[i] * scale }
        }
        return result
    }

    public func backward(_ outputGradient: Tensor) throws -> Tensor? {
        // pending[v]: the gradient of value v summed so far; owned[v]: it is our own buffer (sums[v]),
        // so more can be added in place; otherwise it belongs to the layer that returned it.
        var pending = [Tensor?](repeating: nil, count: spec.nodes.count + 1)
        var owned = [Bool](repeating: false, count: spec.nodes.count + 1)
        func accumulate(_ gradient: Tensor, into value: Int) {
            guard let existing = pending[value] else {
                pending[value] = gradient
                return
            }
            if !owned[value] {
                let sum = sums[value].tensor(shape: existing.shape)
                sum.copy(from: existing)
                pending[value] = sum
                owned[value] = true
            }
            let sum = pending[value]!
            for i in 0..<sum.count { sum.pointer[i] += gradient.pointer[i] }
        }
        accumulate(outputGradient, into: spec.output)

        let start = usedKernel == nil ? 0 : fusion!.end
        for index in (start..<spec.nodes.count).reversed() {
            let node = spec.nodes[index]
            guard let g = pending[index + 1] else { continue }
            let wantsInput = { (value: Int) in value != 0 || self.needsInputGradient }
            switch node.operation {
            case .add:
                for value in node.inputs where wantsInput(value) { accumulate(g, into: value) }
            case .multiply:
                let a = values[node.inputs[0]]!, b = values[node.inputs[1]]!
                let (gradientA, gradientB) = multiplyBackward(g, a, b, index: index)
                if wantsInput(node.inputs[0]) { accumulate(gradientA, into: node.inputs[0]) }
                if wantsInput(node.inputs[1]) { accumulate(gradientB, into: node.inputs[1]) }
            case .globalAveragePool:
                if let gradient = try layers[index]!.backward(g.reshaped([g.shape[0], g.shape[1]])) { accumulate(gradient, into: node.inputs[0]) }
            default:
                if let gradient = try layers[index]!.backward(g) { accumulate(gradient, into: node.inputs[0]) }
            }
        }
        if let usedKernel, let gradient = pending[start] {
            guard usedKernel.training else { preconditionFailure("GraphNetwork.backward after a forward that was not training") }
            try usedKernel.backward(input: values[0]!.pointer, outputGradient: gradient.pointer)
        }
        return needsInputGradient ? pending[0] : nil
    }

    /// Gradients of a ⊙ b: g ⊙ b for a, g ⊙ a for b, summed over the planes for whichever is the gate.
    private func multiplyBackward(_ g: Tensor, _ a: Tensor, _ b: Tensor, index: Int) -> (Tensor, Tensor) {
        let gradientA = gradients[2 * index].tensor(shape: a.shape), gradientB = gradients[2 * index + 1].tensor(shape: b.shape)
        if a.count == b.count {
            for i in 0..<g.count {
                gradientA.pointer[i] = g.pointer[i] * b.pointer[i]
                gradientB.pointer[i] = g.pointer[i] * a.pointer[i]
            }
            return (gradientA, gradientB)
        }
        let aIsFull = a.count > b.count
        let (full, gate) = aIsFull ? (a, b) : (b, a)
        let (fullGradient, gateGradient) = aIsFull ? (gradientA, gradientB) : (gradientB, gradientA)
        let plane = full.count / gate.count
        for c in 0..<gate.count {
            let scale = gate.pointer[c], x = full.pointer + c * plane, dy = g.pointer + c * plane, dx = fullGradient.pointer + c * plane
            var sum: Float = 0
            for i in 0..<plane {
                dx[i] = dy[i] * scale
                sum += dy[i] * x[i]
            }
            gateGradient.pointer[c] = sum
        }
        return (gradientA, gradientB)
    }
}
