import Tensors
import Testing
import TestSupport

@Suite("Depthwise weight gradient: Akin's kernel against plain loops, alone and inside a graph kernel")
struct DepthwiseWeightGradientTests {
    static let shapes = [
        // EfficientNet's 5 × 5, strided, with the padding before larger than after; 13 channels (a padded block).
        ConvolutionShape(batch: 3, inputChannels: 13, height: 11, width: 9, outputChannels: 13, kernelSize: 5, stride: 2,
                         padding: 2, paddingEnd: 1, groups: 13, hasBias: true),
        // Dilated 3 × 3 without bias, 8 channels (one full block), a non-square image.
        ConvolutionShape(batch: 2, inputChannels: 8, height: 7, width: 12, outputChannels: 8, kernelSize: 3, stride: 1,
                         padding: 2, dilation: 2, groups: 8, hasBias: false),
    ]

    static func random(_ count: Int, _ generator: inout RandomGenerator) -> [Float] {
        (0..<count).map { _ in generator.nextFloat() * 2 - 1 }
    }

    /// NCHW → nChw8c, zeros in the padded channels.
    static func blocked(_ values: [Float], _ dims: [Int]) -> [Float] {
        let (n, c, plane) = (dims[0], dims[1], dims[2] * dims[3]), blocks = (c + 7) / 8
        var result = [Float](repeating: 0, count: n * blocks * plane * 8)
        for image in 0..<n {
            for channel in 0..<c {
                for p in 0..<plane {
                    result[((image * blocks + channel / 8) * plane + p) * 8 + channel % 8] = values[(image * c + channel) * plane + p]
                }
            }
        }
        return result
    }

    static func close(_ x: [Float], _ y: [Float], reduction: Int) -> Bool {
        Float32Tolerance.relativeDifference(x, y) <= Float32Tolerance.relative(longestReduction: reduction, depth: 1)
    }

    @Test(arguments: shapes)
    func kernelMatchesPlainLoops(shape s: ConvolutionShape) throws {
        var generator = RandomGenerator(seed: 5)
        let input = Self.random(s.inputShape.reduce(1, *), &generator), gradient = Self.random(s.outputShape.reduce(1, *), &generator)
        let expected = DepthwiseWeightGradient.reference(shape: s, input: input, outputGradient: gradient)
        let kernel = try DepthwiseWeightGradient(shape: s)
        var weights = [Float](repeating: .nan, count: s.weightShape.reduce(1, *)), bias = [Float](repeating: .nan, count: s.outputChannels)
        for threads in [1, 2, 3] {
            let x = Self.blocked(input, s.inputShape), dy = Self.blocked(gradient, s.outputShape)
            weights.withUnsafeMutableBufferPointer { w in
                bias.withUnsafeMutableBufferPointer { b in
                    kernel.run(input: x, outputGradient: dy, weightGradient: w.baseAddress!, biasGradient: s.hasBias ? b.baseAddress! : nil,
                               threads: threads)
                }
            }
            let reduction = s.batch * s.outputHeight * s.outputWidth
            #expect(Self.close(weights, expected.weights, reduction: reduction), "\(threads) threads: weights")
            if s.hasBias { #expect(Self.close(bias, expected.bias, reduction: reduction), "\(threads) threads: bias") }
        }
    }

    /// A graph of one depthwise convolution: whichever kernel computes its weight gradient (Akin's
    /// where oneDNN falls back to GEMM, oneDNN's elsewhere, Akin's when forced), it equals the plain loops.
    @Test(arguments: shapes, [false, true])
    func graphKernelWeightGradientMatchesPlainLoops(shape s: ConvolutionShape, forced: Bool) throws {
        var generator = RandomGenerator(seed: 8)
        let plan = GraphKernelPlan(inputChannels: s.inputChannels, nodes: [
            GraphKernelPlan.Node(name: "depthwise", operation: .convolution(outputChannels: s.outputChannels, kernelSize: s.kernelSize,
                                                                            stride: s.stride, padding: s.padding, paddingEnd: s.paddingEnd,
                                                                            dilation: s.dilation, groups: s.groups, bias: s.hasBias,
                                                                            activation: nil), inputs: [0]),
        ])
        var weights = Self.random(s.weightShape.reduce(1, *), &generator), bias = Self.random(s.outputChannels, &generator)
        var input = Self.random(s.inputShape.reduce(1, *), &generator), gradient = Self.random(s.outputShape.reduce(1, *), &generator)
        var weightGradient = [Float](repeating: .nan, count: weights.count), biasGradient = [Float](repeating: .nan, count: bias.count)
        var output = [Float](repeating: 0, count: gradient.count)
        let own = try weights.withUnsafeMutableBufferPointer { w in
            try bias.withUnsafeMutableBufferPointer { b in
                try weightGradient.withUnsafeMutableBufferPointer { dw in
                    try biasGradient.withUnsafeMutableBufferPointer { db in
                        let buffers = ConvolutionParameterBuffers(weight: w.baseAddress!, bias: s.hasBias ? b.baseAddress! : nil,
                                                                  weightGradient: dw.baseAddress!, biasGradient: s.hasBias ? db.baseAddress! : nil)
                        let kernel = try GraphKernel(plan: plan, batch: s.batch, height: s.height, width: s.width, parameters: [buffers],
                                                     training: true, ownDepthwiseWeightGradient: forced)
                        try input.withUnsafeMutableBufferPointer { x in
                            try output.withUnsafeMutableBufferPointer { try kernel.forward(input: x.baseAddress!, output: $0.baseAddress!) }
                            try gradient.withUnsafeMutableBufferPointer { try kernel.backward(input: x.baseAddress!, outputGradient: $0.baseAddress!) }
                        }
                        return kernel.ownDepthwiseWeightGradients
                    }
                }
            }
        }
        if forced { #expect(own == 1) }
        let expected = DepthwiseWeightGradient.reference(shape: s, input: input, outputGradient: gradient)
        let reduction = s.batch * s.outputHeight * s.outputWidth
        #expect(Self.close(weightGradient, expected.weights, reduction: reduction), "weights (Akin's own kernel: \(own == 1))")
        if s.hasBias { #expect(Self.close(biasGradient, expected.bias, reduction: reduction), "bias (Akin's own kernel: \(own == 1))") }
    }
}
