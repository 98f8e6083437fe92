import Networks
import Tensors
import TestSupport
import Testing

@Suite("Backward passes against finite differences")
struct LayerGradientTests {
    @Test(arguments: [1, 3, 5, 7])
    func conv2d(kernel: Int) throws {
        var check = GradientCheck()
        let layer = Conv2D(inputChannels: 3, outputChannels: 4, kernelSize: kernel, name: "conv")
        layer.weight.value.copy(from: check.randomTensor(layer.weight.value.shape, scale: 0.5))
        layer.bias!.value.copy(from: check.randomTensor([4], scale: 0.5))
        try check.check(layer, input: check.randomTensor([2, 3, 7, 5]))
    }

    /// Depthwise, strided with SAME padding 0/1, and dilated: the geometries imported networks use.
    @Test(arguments: [(6, 6, 3, 2, 0, 1, 1, 6), (4, 6, 3, 1, 2, 2, 2, 2)])
    func conv2dGeometry(_ g: (c: Int, o: Int, k: Int, stride: Int, padding: Int, paddingEnd: Int, dilation: Int, groups: Int)) throws {
        var check = GradientCheck()
        let layer = Conv2D(inputChannels: g.c, outputChannels: g.o, kernelSize: g.k, stride: g.stride, padding: g.padding,
                           paddingEnd: g.paddingEnd, dilation: g.dilation, groups: g.groups, name: "conv")
        layer.weight.value.copy(from: check.randomTensor(layer.weight.value.shape, scale: 0.5))
        layer.bias!.value.copy(from: check.randomTensor([g.o], scale: 0.5))
        try check.check(layer, input: check.randomTensor([2, g.c, 7, 6]))
    }

    @Test func maxPool() throws {
        var check = GradientCheck()
        // Distinct values keep every 2×2 window's winner clear of the finite-difference step.
        let input = Tensor(shape: [2, 3, 7, 6])
        var order = Array(0..<input.count)
        order.shuffle(using: &check.generator)
        for i in 0..<input.count { input[i] = Float(order[i]) * 0.1 }
        try check.check(MaxPool2D(), input: input)
    }

    /// Max pooling of any window, with padding and ceil mode (distinct values keep winners clear),
    /// and average pooling with and without its padding in the divisor.
    @Test(arguments: [(Pool2D.Kind.max, 3, 2, 1, false, false), (.max, 2, 2, 0, true, false),
                      (.average, 3, 2, 1, true, false), (.average, 3, 2, 1, false, true)])
    func pool2D(_ p: (kind: Pool2D.Kind, kernel: Int, stride: Int, padding: Int, ceilMode: Bool, countIncludePad: Bool)) throws {
        var check = GradientCheck()
        let input = Tensor(shape: [2, 2, 7, 6])
        var order = Array(0..<input.count)
        order.shuffle(using: &check.generator)
        for i in 0..<input.count { input[i] = Float(order[i]) * 0.1 - 8 }
        try check.check(Pool2D(kind: p.kind, kernelSize: p.kernel, stride: p.stride, padding: p.padding, ceilMode: p.ceilMode,
                               countIncludePad: p.countIncludePad), input: input)
    }

    @Test func clip() throws {
        var check = GradientCheck()
        let input = check.randomTensor([3, 17], scale: 2)
        for i in 0..<input.count where abs(input[i]) < 0.05 || abs(input[i] - 1) < 0.05 { input[i] = 0.5 }  // away from the bounds
        try check.check(Clip(low: 0, high: 1), input: input)
    }

    @Test func sigmoid() throws {
        var check = GradientCheck()
        try check.check(Sigmoid(), input: check.randomTensor([3, 17], scale: 4))
    }

    /// A graph whose values branch and join: a squeeze-and-excitation gate (multiply by a
    /// [N, C, 1, 1] value), a residual sum, one value read by three nodes, batch norm in training
    /// mode, a depthwise convolution, average pooling with ceil mode, a dense head.
    @Test func graphNetwork() throws {
        var check = GradientCheck()
        let nodes = [
            GraphNode(name: "conv", operation: .convolution(outputChannels: 4, kernel: 3, stride: 1, padding: 1, paddingEnd: 1,
                                                            dilation: 1, groups: 1, bias: false), inputs: [0]),
            GraphNode(name: "norm", operation: .batchNorm(epsilon: 1e-5), inputs: [1]),
            GraphNode(name: "gate0", operation: .sigmoid, inputs: [2]),
            GraphNode(name: "squeeze", operation: .globalAveragePool, inputs: [3]),
            GraphNode(name: "excite", operation: .convolution(outputChannels: 4, kernel: 1, stride: 1, padding: 0, paddingEnd: 0,
                                                              dilation: 1, groups: 1, bias: true), inputs: [4]),
            GraphNode(name: "gate", operation: .sigmoid, inputs: [5]),
            GraphNode(name: "scale", operation: .multiply, inputs: [6, 3]),
            GraphNode(name: "depthwise", operation: .convolution(outputChannels: 4, kernel: 3, stride: 1, padding: 1, paddingEnd: 1,
                                                                 dilation: 1, groups: 4, bias: true), inputs: [7]),
            GraphNode(name: "residual", operation: .add, inputs: [8, 3]),
            GraphNode(name: "pool", operation: .averagePool(kernel: 2, stride: 2, padding: 0, paddingEnd: 0, ceilMode: true,
                                                             countIncludePad: false), inputs: [9]),
            GraphNode(name: "global", operation: .globalAveragePool, inputs: [10]),
            GraphNode(name: "flatten", operation: .flatten, inputs: [11]),
            GraphNode(name: "head", operation: .dense(units: 3), inputs: [12]),
        ]
        let spec = GraphSpec(nodes: nodes, output: nodes.count)
        #expect(spec.problem(inputShape: [2, 5, 5]) == nil)
        let network = GraphNetwork(spec: spec, inputShape: [2, 5, 5], prefix: "g.")
        for parameter in network.parameters {
            parameter.value.copy(from: check.randomTensor(parameter.value.shape, scale: 0.8))
            if parameter.name.hasSuffix("norm.weight") || parameter.name == "g.nodes.1.weight" { for i in 0..<parameter.value.count { parameter.value[i] += 1 } }
        }
        #expect(network.outputShape(for: [3, 2, 5, 5]) == [3, 3])
        try check.check(network, input: check.randomTensor([3, 2, 5, 5]))
    }

    @Test func relu() throws {
        var check = GradientCheck()
        let input = check.randomTensor([3, 17])
        for i in 0..<input.count where abs(input[i]) < 0.05 { input[i] = 0.5 }  // keep away from the kink
        try check.check(ReLU(), input: input)
    }

    @Test func flatten() throws {
        var check = GradientCheck()
        try check.check(Flatten(), input: check.randomTensor([2, 3, 2, 2]))
    }

    @Test func dense() throws {
        var check = GradientCheck()
        let layer = Dense(inputSize: 13, outputSize: 5, name: "dense")
        layer.weight.value.copy(from: check.randomTensor([5, 13]))
        layer.bias.value.copy(from: check.randomTensor([5]))
        try check.check(layer, input: check.randomTensor([4, 13]))
    }

    @Test func l2Normalize() throws {
        var check = GradientCheck()
        check.step = 1e-3
        try check.check(L2Normalize(), input: check.randomTensor([4, 9]))
    }

    @Test func wholeSeedNetwork() throws {
        // The layers chained as the seed network chains them, at a small odd input.
        var check = GradientCheck()
        check.tolerance = 5e-2
        let architecture = Architecture.seed(channels: 2, imageSize: 9, embeddingDimension: 5)
        let network = architecture.build()
        var generator = RandomGenerator(seed: 3)
        Initialization.xavierUniform(network, using: &generator)
        let input = check.randomTensor([2, 2, 9, 9])
        let output = try network.forward(input)
        #expect(output.shape == [2, 5])
        let upstream = check.randomTensor(output.shape)
        network.layers.first!.needsInputGradient = false
        try network.backward(upstream)
        let firstWeight = network.parameters[0]
        let analytic = firstWeight.gradient.clone()
        var mismatches = 0
        for _ in 0..<16 {
            let index = check.generator.nextInt(below: firstWeight.value.count)
            let saved = firstWeight.value[index]
            func loss() throws -> Double {
                let y = try network.forward(input)
                return (0..<y.count).reduce(0.0) { $0 + Double(y[$1]) * Double(upstream[$1]) }
            }
            firstWeight.value[index] = saved + 1e-3
            let plus = try loss()
            firstWeight.value[index] = saved - 1e-3
            let minus = try loss()
            firstWeight.value[index] = saved
            let numeric = Float((plus - minus) / 2e-3)
            if abs(numeric - analytic[index]) > 5e-2 * max(1, abs(numeric)) { mismatches += 1 }
        }
        // A max-pool winner may flip inside a finite-difference step; allow one such sample.
        #expect(mismatches <= 1)
    }
}
