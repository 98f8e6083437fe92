import Networks
import Tensors
import Testing

@Suite("The fused oneDNN stack equals the separate layers")
struct ConvolutionStackTests {
    /// Builds both ways with the same weights, runs one forward and backward, and compares
    /// the outputs, every parameter gradient, and the input gradient.
    func compare(_ architecture: Architecture, batch: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        let reference = architecture.build(fused: false), fused = architecture.build(fused: true)
        #expect(fused.layers.contains { $0 is ConvolutionStack }, sourceLocation: sourceLocation)
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
        let expected = reference.forward(input).clone(), got = fused.forward(input).clone()
        #expect(expected.shape == got.shape, sourceLocation: sourceLocation)
        let upstream = Tensor(shape: expected.shape)
        for i in 0..<upstream.count { upstream[i] = generator.nextFloat() * 2 - 1 }
        // Relative to the whole tensor's norm: float sums in another order differ in the last bits,
        // and an activation within rounding of zero may pass ReLU or win a pool on one side only.
        func close(_ x: [Float], _ y: [Float], _ what: String) {
            let difference = zip(x, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
            let norm = x.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(difference <= 1e-5 * max(norm, 1e-6), "\(what): relative difference \(difference / norm)", sourceLocation: sourceLocation)
        }
        close(expected.array, got.array, "output")
        // The input gradient of the whole network: run backward layer by layer to keep it.
        func backward(_ network: Sequential) -> [Float] {
            var g: Tensor? = upstream
            for layer in network.layers.reversed() { g = layer.backward(g!) }
            return g!.array
        }
        close(backward(reference), backward(fused), "input gradient")
        for (a, b) in zip(reference.parameters, fused.parameters) { close(a.gradient.array, b.gradient.array, a.name) }
    }

    @Test(arguments: [1, 3])
    func seedNetwork(channels: Int) {
        compare(.seed(channels: channels), batch: 6)
    }

    @Test func oddSizesAndStagesWithoutReLUOrPool() {
        compare(Architecture(name: "odd", inputChannels: 2, inputSize: 9, layers: [
            .conv2d(filters: 5, kernel: 3), .relu,
            .conv2d(filters: 8, kernel: 5), .maxPool2x2,
            .conv2d(filters: 3, kernel: 1), .relu, .maxPool2x2,
            .conv2d(filters: 4, kernel: 3),
            .flatten, .dense(units: 6), .l2Normalize,
        ]), batch: 3)
    }

    @Test func stackBackwardMatchesFiniteDifferences() {
        var check = GradientCheck()
        check.check(twoStageStack(&check), input: check.randomTensor([2, 2, 7, 5]))
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

@Test func inferenceModeGivesTheTrainingForward() {
    let network = Architecture.seed(channels: 3).build()
    var generator = RandomGenerator(seed: 4)
    Initialization.xavierUniform(network, using: &generator)
    let input = Tensor(shape: [5, 3, 28, 28])
    for i in 0..<input.count { input[i] = generator.nextFloat() }
    let training = network.forward(input).clone()
    network.isTraining = false
    let inference = network.forward(input).clone()
    network.isTraining = true
    #expect(zip(training.array, inference.array).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
}

/// Non-square inputs and a channel count that is neither 1 nor a multiple of 8, against the plain layers.
@Test func stackEqualsLayersOnNonSquareInputs() {
    var check = GradientCheck()
    let stack = twoStageStack(&check)
    let c1 = Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, name: "a"), c2 = Conv2D(inputChannels: 3, outputChannels: 4, kernelSize: 1, name: "b")
    c1.weight.value.copy(from: stack.weights[0].value); c1.bias!.value.copy(from: stack.biases[0].value)
    c2.weight.value.copy(from: stack.weights[1].value); c2.bias!.value.copy(from: stack.biases[1].value)
    let layers: [Layer] = [c1, ReLU(), MaxPool2D(), c2, MaxPool2D()]
    for (h, w) in [(7, 5), (5, 7), (7, 7), (8, 6)] {
        let input = check.randomTensor([2, 2, h, w])
        let a = stack.forward(input).clone()
        var x = input
        for l in layers { l.needsInputGradient = true; x = l.forward(x) }
        let up = check.randomTensor(a.shape)
        let ga = stack.backward(up)!.clone()
        var g: Tensor? = up
        for l in layers.reversed() { g = l.backward(g!) }
        let dOut = zip(a.array, x.array).map { abs($0 - $1) }.max()!
        let dIn = zip(ga.array, g!.array).map { abs($0 - $1) }.max()!
        #expect(dOut < 1e-5 && dIn < 1e-5, "\(h)×\(w): output off by \(dOut), input gradient by \(dIn)")
    }
}
