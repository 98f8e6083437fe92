import Networks
import Tensors
import Testing
import TestSupport

@Suite("The fused oneDNN stack equals the separate layers")
struct ConvolutionStackTests {
    /// Builds both ways with the same weights, runs one forward and backward, and compares the
    /// outputs, every parameter gradient and the input gradient, then the inference outputs. The
    /// fused stack's activations are laid out as `layout` says (oneDNN's choice, or one forced on
    /// it, so that the blocks other CPUs pick run here too).
    func compare(_ architecture: Architecture, batch: Int, layout: ActivationLayout = .chosenByOneDNN,
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reference = architecture.build(fused: false), fused = architecture.build(fused: true)
        let stacks = fused.layers.compactMap { $0 as? ConvolutionStack }
        #expect(!stacks.isEmpty, sourceLocation: sourceLocation)
        for stack in stacks { stack.activationLayout = layout }
        var generator = RandomGenerator(seed: 21)
        Initialization.xavierUniform(reference, using: &generator)
        for (a, b) in zip(reference.parameters, fused.parameters) {
            #expect(a.name == b.name && a.value.shape == b.value.shape, sourceLocation: sourceLocation)
            for i in 0..<a.value.count { a.value[i] += generator.nextFloat() * 0.1 }  // non-zero biases too
            b.value.copy(from: a.value)
        }
        for network in [reference, fused] { network.layers.first!.needsInputGradient = true }
        let input = Tensor(shape: [batch] + architecture.inputShape)
        for i in 0..<input.count { input[i] = generator.nextFloat() * 2 - 1 }
        let expected = try reference.forward(input).clone(), got = try fused.forward(input).clone()
        #expect(expected.shape == got.shape, sourceLocation: sourceLocation)
        let upstream = Tensor(shape: expected.shape)
        for i in 0..<upstream.count { upstream[i] = generator.nextFloat() * 2 - 1 }

        // Longest reduction: a convolution's C·k·k, or a weight gradient's N·H·W at full size;
        // depth: each convolution forward, backward to its input and to its weights.
        var channels = architecture.inputChannels, longest = batch * architecture.inputSize * architecture.inputSize, convolutions = 0
        for case let .conv2d(filters, kernel) in architecture.layers {
            longest = max(longest, channels * kernel * kernel)
            channels = filters
            convolutions += 1
        }
        let bound = Float32Tolerance.relative(longestReduction: longest, depth: 3 * convolutions)
        func close(_ x: [Float], _ y: [Float], _ what: String) {
            let difference = Float32Tolerance.relativeDifference(x, y)
            #expect(difference <= bound, "\(layout), \(what): relative difference \(difference) > \(bound)", sourceLocation: sourceLocation)
        }
        close(expected.array, got.array, "output")
        // The input gradient of the whole network: run backward layer by layer to keep it.
        func backward(_ network: Sequential) throws -> [Float] {
            var g: Tensor? = upstream
            for layer in network.layers.reversed() { g = try layer.backward(g!) }
            return g!.array
        }
        close(try backward(reference), try backward(fused), "input gradient")
        for (a, b) in zip(reference.parameters, fused.parameters) { close(a.gradient.array, b.gradient.array, a.name) }
        reference.isTraining = false
        fused.isTraining = false
        close(try reference.forward(input).array, try fused.forward(input).array, "inference output")
    }

    @Test(arguments: [1, 3])
    func seedNetwork(channels: Int) throws {
        try compare(.seed(channels: channels), batch: 6)
    }

    /// The seed network on 16×16 images in every layout (smaller: forced layouts run oneDNN's
    /// reference kernels).
    @Test(arguments: ActivationLayout.allCases)
    func seedNetworkInEveryLayout(layout: ActivationLayout) throws {
        try compare(.seed(channels: 1, imageSize: 16, embeddingDimension: 6), batch: 3, layout: layout)
    }

    @Test(arguments: ActivationLayout.allCases)
    func oddSizesAndStagesWithoutReLUOrPool(layout: ActivationLayout) throws {
        try compare(Architecture(name: "odd", inputChannels: 2, inputSize: 9, layers: [
            .conv2d(filters: 5, kernel: 3), .relu,
            .conv2d(filters: 8, kernel: 5), .maxPool2x2,
            .conv2d(filters: 3, kernel: 1), .relu, .maxPool2x2,
            .conv2d(filters: 4, kernel: 3),
            .flatten, .dense(units: 6), .l2Normalize,
        ]), batch: 3, layout: layout)
    }

    /// Widths that are multiples of 8 but not of 16, and 16: one block, a padded block, or two.
    @Test(arguments: ActivationLayout.allCases)
    func narrowWidths(layout: ActivationLayout) throws {
        try compare(Architecture(name: "narrow", inputChannels: 3, inputSize: 10, layers: [
            .conv2d(filters: 8, kernel: 3), .relu, .maxPool2x2,
            .conv2d(filters: 24, kernel: 3), .relu,
            .conv2d(filters: 16, kernel: 1), .relu, .maxPool2x2,
            .flatten,
        ]), batch: 2, layout: layout)
    }

    @Test func stackBackwardMatchesFiniteDifferences() throws {
        var check = GradientCheck()
        try check.check(twoStageStack(&check), input: check.randomTensor([2, 2, 7, 5]))
    }
}

/// Two channels in (neither 1 nor a multiple of 8), a pooled ReLU stage and a pooled plain one.
func twoStageStack(_ check: inout GradientCheck) -> ConvolutionStack {
    let stack = ConvolutionStack(inputChannels: 2, stages: [
        ConvolutionStage(outputChannels: 3, kernelSize: 3, relu: true, pool: true),
        ConvolutionStage(outputChannels: 4, kernelSize: 1, relu: false, pool: true),
    ], names: ["a", "b"])
    for p in stack.parameters { p.value.copy(from: check.randomTensor(p.value.shape, scale: 0.5)) }
    return stack
}

@Test func inferenceModeGivesTheTrainingForward() throws {
    let network = Architecture.seed(channels: 3).build()
    var generator = RandomGenerator(seed: 4)
    Initialization.xavierUniform(network, using: &generator)
    let input = Tensor(shape: [5, 3, 28, 28])
    for i in 0..<input.count { input[i] = generator.nextFloat() }
    let training = try network.forward(input).clone()
    network.isTraining = false
    let inference = try network.forward(input).clone()
    network.isTraining = true
    #expect(zip(training.array, inference.array).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
}

/// Non-square inputs and a channel count that is neither 1 nor a multiple of 8, against the plain layers.
@Test(arguments: ActivationLayout.allCases)
func stackEqualsLayersOnNonSquareInputs(layout: ActivationLayout) throws {
    var check = GradientCheck()
    let stack = twoStageStack(&check)
    stack.activationLayout = layout
    let c1 = Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, name: "a"), c2 = Conv2D(inputChannels: 3, outputChannels: 4, kernelSize: 1, name: "b")
    c1.weight.value.copy(from: stack.weights[0].value); c1.bias!.value.copy(from: stack.biases[0].value)
    c2.weight.value.copy(from: stack.weights[1].value); c2.bias!.value.copy(from: stack.biases[1].value)
    let layers: [Layer] = [c1, ReLU(), MaxPool2D(), c2, MaxPool2D()]
    for (h, w) in [(7, 5), (5, 7), (7, 7), (8, 6)] {
        let input = check.randomTensor([2, 2, h, w])
        let a = try stack.forward(input).clone()
        var x = input
        for l in layers { l.needsInputGradient = true; x = try l.forward(x) }
        let up = check.randomTensor(a.shape)
        let ga = try stack.backward(up)!.clone()
        var g: Tensor? = up
        for l in layers.reversed() { g = try l.backward(g!) }
        let dOut = zip(a.array, x.array).map { abs($0 - $1) }.max()!
        let dIn = zip(ga.array, g!.array).map { abs($0 - $1) }.max()!
        #expect(dOut < 1e-5 && dIn < 1e-5, "\(h)×\(w): output off by \(dOut), input gradient by \(dIn)")
    }
}
