import Networks
import Tensors
import Testing

@Suite("Fast layers equal their plain reference implementations")
struct ReferenceTests {
    func random(_ count: Int, _ generator: inout RandomGenerator) -> [Float] {
        (0..<count).map { _ in generator.nextFloat() * 2 - 1 }
    }

    func expectClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst <= tolerance, "largest relative difference \(worst)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [(1, 3, 7, 5, 4, 3), (2, 1, 28, 28, 8, 7), (3, 5, 4, 9, 6, 5), (2, 7, 3, 3, 11, 1), (1, 2, 1, 1, 3, 3)])
    func conv2d(shape: (Int, Int, Int, Int, Int, Int)) throws {
        let (n, c, h, w, o, k) = shape
        var generator = RandomGenerator(seed: 11)
        let layer = Conv2D(inputChannels: c, outputChannels: o, kernelSize: k, name: "conv")
        let weights = random(o * c * k * k, &generator), bias = random(o, &generator), input = random(n * c * h * w, &generator)
        layer.weight.value.copy(from: Tensor(shape: layer.weight.value.shape, values: weights))
        layer.bias!.value.copy(from: Tensor(shape: [o], values: bias))
        let output = try layer.forward(Tensor(shape: [n, c, h, w], values: input))
        expectClose(output.array, ReferenceConv2D.forward(input: input, n: n, c: c, h: h, w: w, weights: weights, bias: bias, o: o, k: k))

        let upstream = random(n * o * h * w, &generator)
        let gradient = try layer.backward(Tensor(shape: [n, o, h, w], values: upstream))!
        let reference = ReferenceConv2D.backward(input: input, n: n, c: c, h: h, w: w, weights: weights, o: o, k: k, outputGradient: upstream)
        expectClose(gradient.array, reference.input)
        expectClose(layer.weight.gradient.array, reference.weights)
        expectClose(layer.bias!.gradient.array, reference.bias)
    }

    /// The convolutions of imported networks: depthwise (MobileNet, EfficientNet), grouped,
    /// dilated, TensorFlow's SAME at stride 2 (one more pad after than before), an even kernel.
    struct Geometry: Sendable, CustomTestStringConvertible {
        var name: String, c: Int, o: Int, k: Int, stride = 1, padding = 1, paddingEnd = 1, dilation = 1, groups = 1, h = 7, w = 6
        var testDescription: String { name }
    }

    static let geometries = [
        Geometry(name: "depthwise 3×3, stride 2, SAME padding 0/1", c: 6, o: 6, k: 3, stride: 2, padding: 0, paddingEnd: 1, groups: 6),
        Geometry(name: "depthwise 5×5 with a multiplier 2", c: 4, o: 8, k: 5, padding: 2, paddingEnd: 2, groups: 4, h: 9, w: 8),
        Geometry(name: "two groups", c: 4, o: 6, k: 3, groups: 2),
        Geometry(name: "dilation 2", c: 3, o: 4, k: 3, padding: 2, paddingEnd: 2, dilation: 2),
        Geometry(name: "2×2, stride 2, no padding", c: 3, o: 5, k: 2, stride: 2, padding: 0, paddingEnd: 0, h: 8, w: 7),
    ]

    @Test(arguments: geometries)
    func conv2dGeometry(_ g: Geometry) throws {
        var generator = RandomGenerator(seed: 13)
        let n = 2
        let layer = Conv2D(inputChannels: g.c, outputChannels: g.o, kernelSize: g.k, stride: g.stride, padding: g.padding,
                           paddingEnd: g.paddingEnd, dilation: g.dilation, groups: g.groups, name: "conv")
        let geometry = ReferenceConv2D.Geometry(k: g.k, stride: g.stride, padding: g.padding, paddingEnd: g.paddingEnd,
                                                dilation: g.dilation, groups: g.groups)
        let weights = random(layer.weight.value.count, &generator), bias = random(g.o, &generator)
        let input = random(n * g.c * g.h * g.w, &generator)
        layer.weight.value.copy(from: Tensor(shape: layer.weight.value.shape, values: weights))
        layer.bias!.value.copy(from: Tensor(shape: [g.o], values: bias))
        let output = try layer.forward(Tensor(shape: [n, g.c, g.h, g.w], values: input))
        let expected = ReferenceConv2D.forward(input: input, n: n, c: g.c, h: g.h, w: g.w, weights: weights, bias: bias, o: g.o, k: g.k,
                                               geometry: geometry)
        #expect(output.count == expected.count && output.shape[1] == g.o)
        expectClose(output.array, expected)

        let upstream = random(output.count, &generator)
        let gradient = try layer.backward(Tensor(shape: output.shape, values: upstream))!
        let reference = ReferenceConv2D.backward(input: input, n: n, c: g.c, h: g.h, w: g.w, weights: weights, o: g.o, k: g.k,
                                                 geometry: geometry, outputGradient: upstream)
        expectClose(gradient.array, reference.input)
        expectClose(layer.weight.gradient.array, reference.weights)
        expectClose(layer.bias!.gradient.array, reference.bias)
    }

    @Test(arguments: [(1, 7, 7), (3, 2, 2), (2, 5, 8), (1, 1, 1), (4, 28, 28)])
    func maxPool(shape: (Int, Int, Int)) {
        let (planes, h, w) = shape
        var generator = RandomGenerator(seed: 5)
        let input = random(planes * h * w, &generator)
        let output = MaxPool2D().forward(Tensor(shape: [1, planes, h, w], values: input))
        #expect(output.shape == [1, planes, (h + 1) / 2, (w + 1) / 2])
        expectClose(output.array, ReferenceMaxPool2D.forward(input: input, planes: planes, h: h, w: w), tolerance: 0)
    }

    @Test func tensorFlowSamePoolSizes() {
        #expect([28, 14, 7, 4, 2, 1].map(MaxPool2D.pooledSize) == [14, 7, 4, 2, 1, 1])
    }

    @Test func reluDenseAndNormalize() {
        var generator = RandomGenerator(seed: 9)
        let x = random(3 * 19, &generator)
        expectClose(ReLU().forward(Tensor(shape: [3, 19], values: x)).array, ReferenceReLU.forward(x), tolerance: 0)

        let dense = Dense(inputSize: 19, outputSize: 7, name: "d")
        let weights = random(7 * 19, &generator), bias = random(7, &generator)
        dense.weight.value.copy(from: Tensor(shape: [7, 19], values: weights))
        dense.bias.value.copy(from: Tensor(shape: [7], values: bias))
        expectClose(dense.forward(Tensor(shape: [3, 19], values: x)).array,
                    ReferenceDense.forward(input: x, n: 3, inputSize: 19, weights: weights, bias: bias, outputSize: 7))

        expectClose(L2Normalize().forward(Tensor(shape: [3, 19], values: x)).array, ReferenceL2Normalize.forward(x, n: 3, d: 19))
    }

    @Test func seedNetworkGivesDNumbersPerImage() {
        #expect(Architecture.seed(channels: 3).outputDimension == 28)
        #expect(Architecture.seed(channels: 1, embeddingDimension: 64).outputDimension == 64)
    }
}
