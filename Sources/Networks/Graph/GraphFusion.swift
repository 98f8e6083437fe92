import Tensors

/// The part of a graph that one `GraphKernel` runs: its first `end` nodes, when they are all
/// operations the kernel has (convolutions, ReLU, clip, sigmoid, sums, max and average pooling,
/// global average pooling)
/// and nothing after them reads a value inside them but the last. An elementwise function whose
/// input is a convolution's output that nothing else reads becomes that convolution's post-op.
struct GraphFusion {
    let plan: GraphKernelPlan
    /// Nodes 0..<end of the spec run in the kernel; value `end` is its output.
    let end: Int
    /// For each kernel node, the spec node whose layer holds its parameters (convolutions only).
    let convolutionNodes: [Int?]

    /// `inputShape`: [C, H, W] per image.
    init?(spec: GraphSpec, inputShape: [Int]) {
        let shapes = GraphNetwork.valueShapes(of: spec, input: [1] + inputShape)
        let runs = spec.nodes.map { Self.kernelOperation($0.operation, input: shapes[$0.inputs[0]]) != nil }
        var readers = [Int](repeating: 0, count: spec.nodes.count + 1)
        for node in spec.nodes { for value in node.inputs { readers[value] += 1 } }
        readers[spec.output] += 1
        // The kernel outputs its last node's value: a prefix whose last node is not the one making
        // value `end` (a node nothing reads comes after it) is cut shorter.
        for end in Self.prefixes(of: spec, runs: runs) {
            let (nodes, convolutionNodes, planValue) = Self.build(spec, end: end, shapes: shapes, readers: readers)
            guard planValue[end] == nodes.count else { continue }
            plan = GraphKernelPlan(inputChannels: inputShape[0], nodes: nodes)
            self.end = end
            self.convolutionNodes = convolutionNodes
            return
        }
        return nil
    }

    /// The kernel's nodes for the spec's first `end` nodes, which spec node holds each
    /// convolution's parameters, and which kernel value holds each spec value.
    private static func build(_ spec: GraphSpec, end: Int, shapes: [[Int]], readers: [Int])
        -> (nodes: [GraphKernelPlan.Node], convolutionNodes: [Int?], planValue: [Int]) {
        var nodes: [GraphKernelPlan.Node] = [], convolutionNodes: [Int?] = []
        var planValue = [0]
        for index in 0..<end {
            let node = spec.nodes[index], inputs = node.inputs.map { planValue[$0] }
            if let activation = activation(node.operation), node.inputs[0] > 0, readers[node.inputs[0]] == 1,
               case let .convolution(o, k, s, p, pe, d, g, b, nil) = nodes[inputs[0] - 1].operation {
                nodes[inputs[0] - 1].operation = .convolution(outputChannels: o, kernelSize: k, stride: s, padding: p, paddingEnd: pe,
                                                              dilation: d, groups: g, bias: b, activation: activation)
                nodes[inputs[0] - 1].name += " + " + node.name
                planValue.append(inputs[0])
                continue
            }
            let operation = kernelOperation(node.operation, input: shapes[node.inputs[0]])!
            nodes.append(GraphKernelPlan.Node(name: node.name, operation: operation, inputs: inputs))
            convolutionNodes.append(operation.isConvolution ? index : nil)
            planValue.append(nodes.count)
        }
        return (nodes, convolutionNodes, planValue)
    }

    private static func activation(_ operation: GraphOperation) -> GraphKernelPlan.Activation? {
        switch operation {
        case .relu: .relu
        case let .clip(low, high): .clip(low: low, high: high)
        case .sigmoid: .sigmoid
        default: nil
        }
    }

    /// The operation as the kernel runs it on an input of `shape`, or nil where it cannot.
    private static func kernelOperation(_ operation: GraphOperation, input shape: [Int]) -> GraphKernelPlan.Operation? {
        switch operation {
        case let .convolution(outputs, kernel, stride, padding, paddingEnd, dilation, groups, bias):
            return .convolution(outputChannels: outputs, kernelSize: kernel, stride: stride, padding: padding,
                                paddingEnd: paddingEnd, dilation: dilation, groups: groups, bias: bias, activation: nil)
        case .relu, .clip, .sigmoid: return .activation(activation(operation)!)
        case .add: return .add
        case .globalAveragePool: return .globalAveragePool
        case let .maxPool(kernel, stride, padding, paddingEnd, ceilMode):
            let pool = Pool2D(kind: .max, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd, ceilMode: ceilMode)
            // Ceil mode's extra window reads past the end padding, which max pooling never picks:
            // more end padding gives it. One value serves both axes of a square input.
            let n = shape[2], end = max(paddingEnd, (pool.outputSize(n) - 1) * stride + kernel - n - padding)
            guard shape[2] == shape[3], end < kernel else { return nil }
            return .pool(maximum: true, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: end, countPadding: false)
        case let .averagePool(kernel, stride, padding, paddingEnd, ceilMode, countIncludePad):
            // Ceil mode's extra window divides by a count oneDNN does not use: left to the layer.
            let floor = Pool2D(kind: .average, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd)
            let asked = Pool2D(kind: .average, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd, ceilMode: ceilMode)
            guard asked.outputShape(for: [1] + shape.dropFirst()) == floor.outputShape(for: [1] + shape.dropFirst()) else { return nil }
            return .pool(maximum: false, kernelSize: kernel, stride: stride, padding: padding, paddingEnd: paddingEnd, countPadding: countIncludePad)
        case .batchNorm, .multiply, .flatten, .dense: return nil
        }
    }

    /// Every `end`, longest first, such that nodes 0..<end run in the kernel, at least one is a
    /// convolution, and the nodes after them read no value inside them but value `end`.
    private static func prefixes(of spec: GraphSpec, runs: [Bool]) -> [Int] {
        let supported = runs.prefix { $0 }.count
        return stride(from: supported, through: 1, by: -1).filter { end in
            let inside = 1..<end
            // The graph's output is a vector, so never the kernel's 4-D output: it comes later.
            return spec.output > end && !spec.nodes[end...].flatMap(\.inputs).contains(where: inside.contains)
                && spec.nodes[..<end].contains(where: { $0.operation.isConvolution })
        }
    }
}

extension GraphOperation {
    var isConvolution: Bool { if case .convolution = self { true } else { false } }
}
