import Networks
import Tensors
import Testing
import TestSupport

@Suite("Graph kernel: an imported graph run as one oneDNN program against its layers")
struct GraphKernelTests {
    static func convolution(_ name: String, _ outputs: Int, kernel: Int, stride: Int = 1, padding: Int? = nil, paddingEnd: Int? = nil,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true, input: Int) -> GraphNode {
        let before = padding ?? (kernel - 1) / 2 * dilation
        return GraphNode(name: name, operation: .convolution(outputChannels: outputs, kernel: kernel, stride: stride, padding: before,
                                                             paddingEnd: paddingEnd ?? before, dilation: dilation, groups: groups, bias: bias),
                         inputs: [input])
    }

    /// An EfficientNet-Lite-like body with every kind of node the kernel takes: a strided stem with
    /// ReLU6, a depthwise 3×3 with ReLU, a pointwise projection without bias summed with the stem (a
    /// value read twice), a dilated convolution with asymmetric padding and a sigmoid, a strided
    /// 1×1 to an odd width (padded channels in blocked layouts) and a 5 × 5 depthwise on it (whose
    /// weight gradient oneDNN 2.6 has no jit kernel for), a clip on a value two nodes read
    /// (so not fused), a second sum, then global pooling, flatten and a dense head.
    static let spec: GraphSpec = {
        let nodes = [
            convolution("stem", 8, kernel: 3, stride: 2, padding: 0, paddingEnd: 1, input: 0),    // value 1
            GraphNode(name: "stem.relu6", operation: .clip(low: 0, high: 6), inputs: [1]),          // 2
            convolution("depthwise", 8, kernel: 3, groups: 8, input: 2),                          // 3
            GraphNode(name: "depthwise.relu", operation: .relu, inputs: [3]),                       // 4
            convolution("project", 8, kernel: 1, bias: false, input: 4),                          // 5
            GraphNode(name: "residual", operation: .add, inputs: [5, 2]),                           // 6
            convolution("dilated", 24, kernel: 3, padding: 2, paddingEnd: 1, dilation: 2, input: 6),  // 7
            GraphNode(name: "gate", operation: .sigmoid, inputs: [7]),                              // 8
            convolution("narrow", 5, kernel: 1, stride: 2, input: 8),                             // 9
            GraphNode(name: "narrow.clip", operation: .clip(low: -0.5, high: 0.5), inputs: [9]),     // 10
            convolution("widen", 5, kernel: 5, groups: 5, bias: false, input: 9),                 // 11
            GraphNode(name: "second", operation: .add, inputs: [10, 11]),                           // 12
            GraphNode(name: "pool", operation: .globalAveragePool, inputs: [12]),                   // 13
            GraphNode(name: "flatten", operation: .flatten, inputs: [13]),                          // 14
            GraphNode(name: "head", operation: .dense(units: 4), inputs: [14]),                     // 15
        ]
        return GraphSpec(nodes: nodes, output: nodes.count)
    }()

    /// A ResNet-like stem and block: max pooling in ceil mode (more end padding than given), a sum
    /// with the pooled value, then average pooling with padding left out of the divisor.
    static let pooling: GraphSpec = {
        let nodes = [
            convolution("stem", 8, kernel: 3, stride: 2, input: 0),                                  // value 1
            GraphNode(name: "stem.relu", operation: .relu, inputs: [1]),                               // 2
            GraphNode(name: "max", operation: .maxPool(kernel: 3, stride: 2, padding: 1, paddingEnd: 0, ceilMode: true), inputs: [2]),  // 3
            convolution("conv", 8, kernel: 3, bias: false, input: 3),                               // 4
            GraphNode(name: "conv.relu", operation: .relu, inputs: [4]),                               // 5
            GraphNode(name: "residual", operation: .add, inputs: [5, 3]),                              // 6
            GraphNode(name: "average", operation: .averagePool(kernel: 2, stride: 1, padding: 1, paddingEnd: 0, ceilMode: false,
                                                                countIncludePad: false), inputs: [6]),  // 7
            GraphNode(name: "pool", operation: .globalAveragePool, inputs: [7]),                       // 8
            GraphNode(name: "flatten", operation: .flatten, inputs: [8]),                              // 9
            GraphNode(name: "head", operation: .dense(units: 4), inputs: [9]),                         // 10
        ]
        return GraphSpec(nodes: nodes, output: nodes.count)
    }()

    @Test(arguments: ActivationLayout.allCases)
    func fusedEqualsLayers(layout: ActivationLayout) throws {
        try compare(Self.spec, channels: 3, height: 13, width: 10, fusedNodes: 13, layout: layout)
    }

    @Test(arguments: ActivationLayout.allCases)
    func fusedPoolingEqualsLayers(layout: ActivationLayout) throws {
        try compare(Self.pooling, channels: 3, height: 14, width: 14, fusedNodes: 8, layout: layout)
    }

    /// A function on the graph's input (no gradient to pass on), a value added to itself, one image.
    @Test(arguments: ActivationLayout.allCases)
    func inputReadersAndSelfSumsEqualLayers(layout: ActivationLayout) throws {
        let nodes = [
            GraphNode(name: "relu", operation: .relu, inputs: [0]),                   // value 1
            Self.convolution("conv", 8, kernel: 3, input: 1),                              // 2
            GraphNode(name: "double", operation: .add, inputs: [2, 2]),               // 3
            GraphNode(name: "pool", operation: .globalAveragePool, inputs: [3]),      // 4
            GraphNode(name: "flatten", operation: .flatten, inputs: [4]),             // 5
            GraphNode(name: "head", operation: .dense(units: 4), inputs: [5]),        // 6
        ]
        try compare(GraphSpec(nodes: nodes, output: nodes.count), channels: 3, height: 6, width: 6, fusedNodes: 4, layout: layout, batch: 1)
    }

    /// A node nothing reads between a convolution and the function fused into it: the kernel's last
    /// node would not be the one the rest of the graph reads, so nothing is fused.
    @Test func anUnreadNodeInsideThePrefixStopsTheFusion() throws {
        let nodes = [
            GraphNode(name: "relu", operation: .relu, inputs: [0]),                   // value 1
            Self.convolution("conv", 8, kernel: 3, input: 1),                              // 2
            GraphNode(name: "unread", operation: .sigmoid, inputs: [1]),              // 3
            GraphNode(name: "clip", operation: .clip(low: 0, high: 6), inputs: [2]),  // 4
            GraphNode(name: "flatten", operation: .flatten, inputs: [4]),             // 5
            GraphNode(name: "head", operation: .dense(units: 4), inputs: [5]),        // 6
        ]
        try compare(GraphSpec(nodes: nodes, output: nodes.count), channels: 3, height: 5, width: 5, fusedNodes: 0, layout: .chosenByOneDNN)
    }

    /// Same weights both ways; one training forward and backward; then an inference forward.
    func compare(_ spec: GraphSpec, channels: Int, height: Int, width: Int, fusedNodes: Int, layout: ActivationLayout, batch: Int = 3,
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(spec.problem(inputShape: [channels, height, width]) == nil)
        let reference = GraphNetwork(spec: spec, inputShape: [channels, height, width], prefix: "g.")
        let fused = GraphNetwork(spec: spec, inputShape: [channels, height, width], prefix: "g.")
        for network in [reference, fused] { network.needsInputGradient = false }
        reference.fused = false
        fused.activationLayout = layout
        #expect(fused.fusedNodes == fusedNodes, sourceLocation: sourceLocation)
        var generator = RandomGenerator(seed: 11)
        for (a, b) in zip(reference.parameters, fused.parameters) {
            for i in 0..<a.value.count { a.value[i] = (generator.nextFloat() - 0.5) * 1.2 }
            b.value.copy(from: a.value)
        }
        let input = Tensor(shape: [batch, channels, height, width])
        for i in 0..<input.count { input[i] = generator.nextFloat() * 4 - 2 }

        let bound = Float32Tolerance.relative(longestReduction: batch * height * width, depth: 2 * spec.nodes.count)
        func close(_ x: [Float], _ y: [Float], _ what: String) {
            let difference = Float32Tolerance.relativeDifference(x, y)
            #expect(difference <= bound, "\(layout), \(what): relative difference \(difference) > \(bound)", sourceLocation: sourceLocation)
        }
        let output = try reference.forward(input).array
        close(output, try fused.forward(input).array, "training output")
        let upstream = Tensor(shape: [batch, 4])
        for i in 0..<upstream.count { upstream[i] = generator.nextFloat() * 2 - 1 }
        #expect(try reference.backward(upstream) == nil)
        #expect(try fused.backward(upstream) == nil)
        for (a, b) in zip(reference.parameters, fused.parameters) {
            #expect(a.gradient.array.contains { $0 != 0 }, "\(a.name) has no gradient", sourceLocation: sourceLocation)
            close(a.gradient.array, b.gradient.array, a.name + " gradient")
        }
        reference.isTraining = false
        fused.isTraining = false
        close(try reference.forward(input).array, try fused.forward(input).array, "inference output")
        // Another batch size builds another kernel for the same weights.
        guard batch > 1 else { return }
        let smaller = Tensor(shape: [batch - 1, channels, height, width])
        smaller.copy(from: Tensor(shape: smaller.shape, values: Array(input.array.prefix(smaller.count))))
        close(Array(output.prefix(4 * (batch - 1))), try fused.forward(smaller).array, "inference output on a smaller batch")
    }

    /// The parts of a graph the kernel cannot run stay with the layers: a batch norm before any
    /// convolution leaves nothing to fuse, and a value read after the fused part keeps it shorter.
    @Test func fusionStopsWhereTheKernelCannotGo() throws {
        var nodes = Self.spec.nodes
        nodes[11] = GraphNode(name: "second", operation: .multiply, inputs: [10, 11])
        let multiplied = GraphSpec(nodes: nodes, output: nodes.count)
        let network = GraphNetwork(spec: multiplied, inputShape: [3, 13, 10], prefix: "g.")
        network.needsInputGradient = false
        // Nodes 9 and 10 read value 9 and the product reads theirs: the kernel ends with node 8.
        #expect(network.fusedNodes == 9)

        let early = GraphSpec(nodes: [GraphNode(name: "norm", operation: .batchNorm(epsilon: 1e-5), inputs: [0])] + Array(
            Self.spec.nodes.map { GraphNode(name: $0.name, operation: $0.operation, inputs: $0.inputs.map { $0 + 1 }) }), output: 16)
        #expect(GraphNetwork(spec: early, inputShape: [3, 13, 10], prefix: "g.").fusedNodes == 0)

        // An average whose ceil mode adds a window (4 → 2 instead of 1) divides as oneDNN does not.
        var pooling = Self.pooling.nodes
        pooling[6] = GraphNode(name: "average", operation: .averagePool(kernel: 3, stride: 2, padding: 0, paddingEnd: 0, ceilMode: true,
                                                                        countIncludePad: false), inputs: [6])
        #expect(GraphNetwork(spec: GraphSpec(nodes: pooling, output: pooling.count), inputShape: [3, 14, 14], prefix: "g.").fusedNodes == 6)
    }
}
