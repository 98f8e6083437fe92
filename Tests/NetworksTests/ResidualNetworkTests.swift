import Networks
import Tensors
import Testing

@Suite("Residual network: new layers against finite differences, fused against layer by layer")
struct ResidualNetworkTests {
    @Test(arguments: [(1, 2), (2, 1), (2, 0)])
    func stridedConvolutionWithoutBiasMatchesReference(stride: Int, padding: Int) {
        var generator = RandomGenerator(seed: 3)
        let (n, c, h, w, o, k) = (2, 3, 7, 6, 4, padding == 0 ? 1 : 3)
        let layer = Conv2D(inputChannels: c, outputChannels: o, kernelSize: k, stride: stride, padding: padding, bias: false, name: "c")
        let weights = (0..<(o * c * k * k)).map { _ in generator.nextFloat() - 0.5 }
        let input = (0..<(n * c * h * w)).map { _ in generator.nextFloat() - 0.5 }
        layer.weight.value.copy(from: Tensor(shape: layer.weight.value.shape, values: weights))
        let output = layer.forward(Tensor(shape: [n, c, h, w], values: input))
        let expected = ReferenceConv2D.forward(input: input, n: n, c: c, h: h, w: w, weights: weights, bias: [], o: o, k: k,
                                               stride: stride, padding: padding)
        #expect(output.count == expected.count)
        #expect(zip(output.array, expected).allSatisfy { abs($0 - $1) < 1e-4 })
        let upstream = (0..<output.count).map { _ in generator.nextFloat() - 0.5 }
        let gradient = layer.backward(Tensor(shape: output.shape, values: upstream))!
        let reference = ReferenceConv2D.backward(input: input, n: n, c: c, h: h, w: w, weights: weights, o: o, k: k,
                                                 stride: stride, padding: padding, outputGradient: upstream)
        #expect(zip(gradient.array, reference.input).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(zip(layer.weight.gradient.array, reference.weights).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test func stridedConvolutionGradient() {
        var check = GradientCheck()
        let layer = Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 2, bias: false, name: "c")
        layer.weight.value.copy(from: check.randomTensor(layer.weight.value.shape, scale: 0.5))
        check.check(layer, input: check.randomTensor([2, 2, 7, 6]))
    }

    @Test(arguments: [true, false])
    func batchNormGradient(training: Bool) {
        var check = GradientCheck()
        let layer = BatchNorm2D(channels: 3, name: "bn")
        layer.weight.value.copy(from: check.randomTensor([3], scale: 1))
        layer.bias.value.copy(from: check.randomTensor([3], scale: 1))
        layer.runningMean.value.copy(from: check.randomTensor([3], scale: 0.3))
        layer.runningVariance.value.fill(1.7)
        layer.isTraining = training
        check.check(layer, input: check.randomTensor([4, 3, 3, 2]))
    }

    @Test func batchNormTrainingNormalisesAndTracksStatistics() {
        var generator = RandomGenerator(seed: 9)
        let layer = BatchNorm2D(channels: 2, name: "bn")
        let input = Tensor(shape: [5, 2, 3, 3])
        for i in 0..<input.count { input[i] = generator.nextFloat() * 4 + 3 }
        let output = layer.forward(input)
        for c in 0..<2 {
            let values = (0..<5).flatMap { b in (0..<9).map { output[(b * 2 + c) * 9 + $0] } }
            let mean = values.reduce(0, +) / Float(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
            #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-3)
            // One step of momentum 0.1 from (0, 1) toward the batch mean (≈5) and variance (≈4/3).
            #expect(layer.runningMean.value[c] > 0.3 && layer.runningMean.value[c] < 0.7)
        }
    }

    @Test func globalAveragePoolGradient() {
        var check = GradientCheck()
        check.check(GlobalAveragePool(), input: check.randomTensor([2, 3, 3, 5]))
    }

    @Test(arguments: [false, true])
    func residualBlockGradient(projection: Bool) {
        var check = GradientCheck()
        check.step = 1e-3
        let plan = ResidualPlan(inputChannels: 2, stemWidth: 2, stages: [ResidualStage(width: projection ? 3 : 2, blocks: 1, stride: projection ? 2 : 1)])
        let block = ResidualBlock(plan: plan, block: plan.blocks[0], prefix: "")
        for p in block.parameters { p.value.copy(from: check.randomTensor(p.value.shape, scale: p.value.shape.count == 1 ? 1 : 0.6)) }
        check.check(block, input: check.randomTensor([3, 2, 5, 4]))
    }

    /// Same weights both ways; one training forward and backward; then an inference forward.
    func compareFused(channels: Int, size: Int, widths: [Int], blocks: [Int], batch: Int) {
        let architecture = Architecture.residual(channels: channels, imageSize: size, widths: widths, blocks: blocks, embeddingDimension: 5)
        let reference = architecture.build(fused: false), fused = architecture.build(fused: true)
        #expect(fused.layers.first is ResidualNetwork)
        var generator = RandomGenerator(seed: 4)
        Initialization.kaimingNormal(reference, using: &generator)
        #expect(reference.parameters.map(\.name) == fused.parameters.map(\.name))
        #expect(reference.buffers.map(\.name) == fused.buffers.map(\.name))
        for (a, b) in zip(reference.parameters, fused.parameters) {
            for i in 0..<a.value.count { a.value[i] += (generator.nextFloat() - 0.5) * 0.2 }  // γ, β away from 1, 0
            b.value.copy(from: a.value)
        }
        for (a, b) in zip(reference.buffers, fused.buffers) { b.value.copy(from: a.value) }
        let input = Tensor(shape: [batch, channels, size, size])
        for i in 0..<input.count { input[i] = generator.nextFloat() * 2 - 1 }

        func close(_ x: [Float], _ y: [Float], _ what: String) {
            let difference = zip(x, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            let norm = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(x.count == y.count && difference <= 2e-5 * max(norm, 1e-6), "\(what): relative difference \(difference / norm)")
        }
        close(reference.forward(input).array, fused.forward(input).array, "training output")
        let upstream = Tensor(shape: [batch, 5])
        for i in 0..<upstream.count { upstream[i] = generator.nextFloat() * 2 - 1 }
        reference.backward(upstream)
        fused.backward(upstream)
        for (a, b) in zip(reference.parameters, fused.parameters) { close(a.gradient.array, b.gradient.array, a.name + " gradient") }
        for (a, b) in zip(reference.buffers, fused.buffers) { close(a.value.array, b.value.array, a.name) }
        reference.isTraining = false
        fused.isTraining = false
        close(reference.forward(input).array, fused.forward(input).array, "inference output")
    }

    @Test func fusedEqualsLayersOneChannel() { compareFused(channels: 1, size: 12, widths: [8, 16], blocks: [1, 1], batch: 4) }
    @Test func fusedEqualsLayersThreeChannelsOddSize() { compareFused(channels: 3, size: 9, widths: [8, 8, 16], blocks: [2, 1, 1], batch: 3) }
}
