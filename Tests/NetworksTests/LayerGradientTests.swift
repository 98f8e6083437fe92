import Networks
import Tensors
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

    @Test func maxPool() throws {
        var check = GradientCheck()
        // Distinct values keep every 2×2 window's winner clear of the finite-difference step.
        let input = Tensor(shape: [2, 3, 7, 6])
        var order = Array(0..<input.count)
        order.shuffle(using: &check.generator)
        for i in 0..<input.count { input[i] = Float(order[i]) * 0.1 }
        try check.check(MaxPool2D(), input: input)
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
