import Networks
import Tensors
import Testing

/// Non-square inputs and a channel count that is neither 1 nor a multiple of 8, against the plain layers.
@Test func stackEqualsLayersOnNonSquareInputs() {
    var check = GradientCheck()
    let stack = ConvolutionStack(inputChannels: 2, stages: [
        ConvolutionStage(outputChannels: 3, kernelSize: 3, relu: true, pool: true),
        ConvolutionStage(outputChannels: 4, kernelSize: 1, relu: false, pool: true),
    ], names: ["a", "b"])
    for p in stack.parameters { p.value.copy(from: check.randomTensor(p.value.shape, scale: 0.5)) }
    let c1 = Conv2D(inputChannels: 2, outputChannels: 3, kernelSize: 3, name: "a"), c2 = Conv2D(inputChannels: 3, outputChannels: 4, kernelSize: 1, name: "b")
    c1.weight.value.copy(from: stack.weights[0].value); c1.bias.value.copy(from: stack.biases[0].value)
    c2.weight.value.copy(from: stack.weights[1].value); c2.bias.value.copy(from: stack.biases[1].value)
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
