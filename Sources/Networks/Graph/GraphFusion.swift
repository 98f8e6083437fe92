import Tensors

/// The part of a graph that one `GraphKernel` runs: its first `end` nodes, when they are all
/// operations the kernel has (convolutions, ReLU, clip, sigmoid, sums, global average pooling)
/// and nothing after them reads a value inside them but the last. An elementwise function whose
/// input is a convolution's output that nothing else reads becomes that convolution's post-op.
struct GraphFusion {
    let plan: GraphKernelPlan
    /// Nodes 0..<end of the spec run in the kernel; value `end` is its output.
    let end: Int
    /// For each kernel node, the spec node whose layer holds its parameters (convolutions only).
    let convolutionNodes: [Int?]

    init?(spec: GraphSpec, inputChannels: Int) {
        guard let end = Self.longestPrefix(of: spec) else { return nil }
        var readers = [Int](repeating: 0, count: spec.nodes.count + 1)
        for node in spec.nodes { for value in node.inputs { readers[value] += 1 } }
        readers[spec.output] += 1

        var nodes: [GraphKernelPlan.Node] = [], convolutionNodes: [Int?] = []
        // planValue[v]: the kernel's value holding the spec's value v.
        var planValue = [0]
        for index in 0..<end {
            let node = spec.nodes[index], inputs = node.inputs.map { planValue[$0] }
            if let activation = Self.activation(node.operation), node.inputs[0] > 0, readers[node.inputs[0]] == 1,
               case let .convolution(o, k, s, p, pe, d, g, b, nil) = nodes[inputs[0] - 1].operation {
                nodes[inputs[0] - 1].operation = .convolution(outputChannels: o, kernelSize: k, stride: s, padding: p, paddingEnd: pe,
                                                              dilation: d, groups: g, bias: b, activation: activation)
                nodes[inputs[0] - 1].name += " + " + node.name
                planValue.append(inputs[0])
                continue
            }
            let operation: GraphKernelPlan.Operation
            switch node.operation {
            case let .convolution(outputs, kernel, stride, padding, paddingEnd, dilation, groups, bias):
                operation = .convolution(outputChannels: outputs, kernelSize: kernel, stride: stride, padding: padding,
                                         paddingEnd: paddingEnd, dilation: dilation, groups: groups, bias: bias, activation: nil)
            case .add: operation = .add
            case .globalAveragePool: operation = .globalAveragePool
            default: operation = .activation(Self.activation(node.operation)!)
            }
            nodes.append(GraphKernelPlan.Node(name: node.name, operation: operation, inputs: inputs))
            convolutionNodes.append(operation.isConvolution ? index : nil)
            planValue.append(nodes.count)
        }
        plan = GraphKernelPlan(inputChannels: inputChannels, nodes: nodes)
        self.end = end
        self.convolutionNodes = convolutionNodes
    }

    private static func activation(_ operation: GraphOperation) -> GraphKernelPlan.Activation? {
        switch operation {
        case .relu: .relu
        case let .clip(low, high): .clip(low: low, high: high)
        case .sigmoid: .sigmoid
        default: nil
        }
    }

    private static func runsInKernel(_ operation: GraphOperation) -> Bool {
        switch operation {
        case .convolution, .relu, .clip, .sigmoid, .add, .globalAveragePool: true
        case .batchNorm, .multiply, .maxPool, .averagePool, .flatten, .dense: false
        }
    }

    /// The largest `end` such that nodes 0..<end run in the kernel, at least one is a
    /// convolution, and the nodes after them read no value inside them but value `end`.
    private static func longestPrefix(of spec: GraphSpec) -> Int? {
        let supported = spec.nodes.prefix { runsInKernel($0.operation) }.count
        for end in stride(from: supported, through: 1, by: -1) {
            let inside = 1..<end
            // The graph's output is a vector, so never the kernel's 4-D output: it comes later.
            guard spec.output > end, !spec.nodes[end...].flatMap(\.inputs).contains(where: inside.contains) else { continue }
            return spec.nodes[..<end].contains(where: { $0.operation.isConvolution }) ? end : nil
        }
        return nil
    }
}

extension GraphKernelPlan.Operation {
    var isConvolution: Bool { if case .convolution = self { true } else { false } }
}

extension GraphOperation {
    var isConvolution: Bool { if case .convolution = self { true } else { false } }
}
