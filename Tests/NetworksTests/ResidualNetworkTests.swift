import Networks
import Tensors
import Testing
import TestSupport

@Suite("Residual network: new layers against finite differences, fused against layer by layer")
struct ResidualNetworkTests {
    @Test(arguments: [(1, 2), (2, 1), (2, 0)])
    func stridedConvolutionWithoutBiasMatchesReference(stride: Int, padding: Int) throws {
        var generator = RandomGenerator(seed: 3)
        let (n, c, h, w, o, k) = (2, 3, 7, 6, 4, padding == 0 ? 1 : 3)
        let layer = Conv2D(inputChannels: c, outputChannels: o, kernelSize: k, stride: stride, padding: padding, bias: false, name: "c")
        let weights = (0..<(o * c * k * k)).map { _ in generator.nextFloat() - 0.5 }
        let input = (0..<(n * c * h * w)).map { _ in generator.nextFloat() - 0.5 }
        layer.weight.value.copy(from: Tensor(shape: layer.weight.value.shape, values: weights))
        let output = try layer.forward(Tensor(shape: [n, c, h, w], values: input))
        let expected = ReferenceConv2D.forward(input: input, n: n, c: c, h: h, w: w, weights: weights, bias: [], o: o, k: k,
                                               stride: stride, padding: padding)
        #expect(output.count == expected.count)
        #expect(zip(output.array, expected).allSatisfy { abs($0 - $1) < 1e-4 })
        let upstream = (0..<output.count).map { _ in generator.nextFloat() - 0.5 }
        let gradient = try layer.backward(Tensor(shape: output.shape, values: upstream))!
        let reference = ReferenceConv2D.backward(input: input, n: n, c: c, h: h, w: w, weights: weights, o: o, k: k,
                                                 stride: stride, padding: padding, outputGradient: upstream)
        #expect(zip(gradient.array, reference.input).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(zip(layer.weight.gradient.array, reference.weights).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test func stridedConvolutionGradient() throws {
        var check = GradientCheck()
        let layer = Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, stride: 2, bias: false, name: "c")
        layer.weight.value.copy(from: check.randomTensor(layer.weight.value.shape, scale: 0.5))
        try check.check(layer, input: check.randomTensor([2, 2, 7, 6]))
    }

    @Test(arguments: [true, false])
    func batchNormGradient(training: Bool) throws {
        var check = GradientCheck()
        let layer = BatchNorm2D(channels: 3, name: "bn")
        layer.weight.value.copy(from: check.randomTensor([3], scale: 1))
        layer.bias.value.copy(from: check.randomTensor([3], scale: 1))
        layer.runningMean.value.copy(from: check.randomTensor([3], scale: 0.3))
        layer.runningVariance.value.fill(1.7)
        layer.isTraining = training
        try check.check(layer, input: check.randomTensor([4, 3, 3, 2]))
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

    @Test func globalAveragePoolGradient() throws {
        var check = GradientCheck()
        try check.check(GlobalAveragePool(), input: check.randomTensor([2, 3, 3, 5]))
    }

    @Test(arguments: [false, true])
    func residualBlockGradient(projection: Bool) throws {
        var check = GradientCheck()
        check.step = 1e-3
        let plan = ResidualPlan(inputChannels: 2, stemWidth: 2, stages: [ResidualStage(width: projection ? 3 : 2, blocks: 1, stride: projection ? 2 : 1)])
        let block = ResidualBlock(plan: plan, block: plan.blocks[0], prefix: "")
        for p in block.parameters { p.value.copy(from: check.randomTensor(p.value.shape, scale: p.value.shape.count == 1 ? 1 : 0.6)) }
        try check.check(block, input: check.randomTensor([3, 2, 5, 4]))
    }

    /// Same weights both ways; one training forward and backward; then an inference forward. The
    /// fused kernel's activations are laid out as `layout` says (oneDNN's choice, or one forced on
    /// it, so that the blocks other CPUs pick run here too); `height` × `width` may be non-square.
    func compareFused(channels: Int, height: Int, width: Int, widths: [Int], blocks: [Int], batch: Int,
                      layout: ActivationLayout = .chosenByOneDNN, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let architecture = Architecture.residual(channels: channels, imageSize: height, widths: widths, blocks: blocks, embeddingDimension: 5)
        let reference = architecture.build(fused: false), fused = architecture.build(fused: true)
        let kernel = try #require(fused.layers.first as? ResidualNetwork)
        kernel.activationLayout = layout
        var generator = RandomGenerator(seed: 4)
        Initialization.kaimingNormal(reference, using: &generator)
        #expect(reference.parameters.map(\.name) == fused.parameters.map(\.name))
        #expect(reference.buffers.map(\.name) == fused.buffers.map(\.name))
        for (a, b) in zip(reference.parameters, fused.parameters) {
            for i in 0..<a.value.count { a.value[i] += (generator.nextFloat() - 0.5) * 0.2 }  // γ, β away from 1, 0
            b.value.copy(from: a.value)
        }
        for (a, b) in zip(reference.buffers, fused.buffers) { b.value.copy(from: a.value) }
        let input = Tensor(shape: [batch, channels, height, width])
        for i in 0..<input.count { input[i] = generator.nextFloat() * 2 - 1 }

        // Longest reduction: a 3×3 convolution over the widest stage, or batch norm and the weight
        // gradients over N·H·W at full resolution. Depth: every unit forward and backward.
        let longest = max(9 * (widths.max() ?? 1), batch * height * width)
        let bound = Float32Tolerance.relative(longestReduction: longest, depth: 2 * kernel.plan.units.count)
        func close(_ x: [Float], _ y: [Float], _ what: String) {
            let difference = Float32Tolerance.relativeDifference(x, y)
            #expect(difference <= bound, "\(layout), \(what): relative difference \(difference) > \(bound)", sourceLocation: sourceLocation)
        }
        close(try reference.forward(input).array, try fused.forward(input).array, "training output")
        let upstream = Tensor(shape: [batch, 5])
        for i in 0..<upstream.count { upstream[i] = generator.nextFloat() * 2 - 1 }
        try reference.backward(upstream)
        try fused.backward(upstream)
        for (a, b) in zip(reference.parameters, fused.parameters) { close(a.gradient.array, b.gradient.array, a.name + " gradient") }
        for (a, b) in zip(reference.buffers, fused.buffers) { close(a.value.array, b.value.array, a.name) }
        reference.isTraining = false
        fused.isTraining = false
        close(try reference.forward(input).array, try fused.forward(input).array, "inference output")
    }

    @Test(arguments: ActivationLayout.allCases)
    func fusedEqualsLayersOneChannel(layout: ActivationLayout) throws {
        try compareFused(channels: 1, height: 12, width: 12, widths: [8, 16], blocks: [1, 1], batch: 4, layout: layout)
    }

    @Test(arguments: ActivationLayout.allCases)
    func fusedEqualsLayersThreeChannelsOddSize(layout: ActivationLayout) throws {
        try compareFused(channels: 3, height: 9, width: 9, widths: [8, 8, 16], blocks: [2, 1, 1], batch: 3, layout: layout)
    }

    /// Widths that are not a multiple of 16 (8, 24, 40: the shapes that broke oneDNN 2.6's residual
    /// sum on AVX-512) and not even a multiple of 8 (3, 5: padded channels in every blocked layout),
    /// on non-square images.
    @Test(arguments: ActivationLayout.allCases)
    func fusedEqualsLayersOnNarrowOddAndNonSquareShapes(layout: ActivationLayout) throws {
        try compareFused(channels: 1, height: 10, width: 7, widths: [8, 24, 40], blocks: [1, 1, 1], batch: 3, layout: layout)
        try compareFused(channels: 3, height: 7, width: 11, widths: [3, 5], blocks: [1, 2], batch: 2, layout: layout)
        try compareFused(channels: 2, height: 6, width: 6, widths: [16, 24], blocks: [1, 1], batch: 2, layout: layout)
    }
}
