/// Plain loops that define what Conv2D computes; the tests hold the oneDNN path to them.
public enum ReferenceConv2D {
    /// The convolution's geometry beyond the kernel size: strides, padding before and after,
    /// dilation and groups.
    public struct Geometry: Sendable {
        public var stride: Int, padding: Int, paddingEnd: Int, dilation: Int, groups: Int

        public init(k: Int, stride: Int = 1, padding: Int? = nil, paddingEnd: Int? = nil, dilation: Int = 1, groups: Int = 1) {
            self.stride = stride
            self.padding = padding ?? (k - 1) / 2
            self.paddingEnd = paddingEnd ?? self.padding
            self.dilation = dilation
            self.groups = groups
        }

        func outputSize(_ n: Int, k: Int) -> Int { (n + padding + paddingEnd - ((k - 1) * dilation + 1)) / stride + 1 }
    }

    /// input [n, c, h, w], weights [o, c / groups, k, k], bias [o] (empty: none) → [n, o, oh, ow];
    /// padding defaults to (k − 1) / 2.
    public static func forward(input: [Float], n: Int, c: Int, h: Int, w: Int,
                               weights: [Float], bias: [Float], o: Int, k: Int, stride: Int = 1, padding: Int? = nil) -> [Float] {
        forward(input: input, n: n, c: c, h: h, w: w, weights: weights, bias: bias, o: o, k: k,
                geometry: Geometry(k: k, stride: stride, padding: padding))
    }

    public static func forward(input: [Float], n: Int, c: Int, h: Int, w: Int,
                               weights: [Float], bias: [Float], o: Int, k: Int, geometry g: Geometry) -> [Float] {
        let oh = g.outputSize(h, k: k), ow = g.outputSize(w, k: k)
        let cg = c / g.groups, og = o / g.groups
        var output = [Float](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n { for oc in 0..<o { for y in 0..<oh { for x in 0..<ow {
            var sum = bias.isEmpty ? 0 : bias[oc]
            let group = oc / og
            for j in 0..<cg { for ky in 0..<k { for kx in 0..<k {
                let ic = group * cg + j
                let iy = y * g.stride + ky * g.dilation - g.padding, ix = x * g.stride + kx * g.dilation - g.padding
                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                sum += input[((b * c + ic) * h + iy) * w + ix] * weights[((oc * cg + j) * k + ky) * k + kx]
            } } }
            output[((b * o + oc) * oh + y) * ow + x] = sum
        } } } }
        return output
    }

    /// Gradients with respect to input, weights and bias.
    public static func backward(input: [Float], n: Int, c: Int, h: Int, w: Int,
                                weights: [Float], o: Int, k: Int, stride: Int = 1, padding: Int? = nil,
                                outputGradient: [Float]) -> (input: [Float], weights: [Float], bias: [Float]) {
        backward(input: input, n: n, c: c, h: h, w: w, weights: weights, o: o, k: k,
                 geometry: Geometry(k: k, stride: stride, padding: padding), outputGradient: outputGradient)
    }

    public static func backward(input: [Float], n: Int, c: Int, h: Int, w: Int, weights: [Float], o: Int, k: Int,
                                geometry g: Geometry, outputGradient: [Float]) -> (input: [Float], weights: [Float], bias: [Float]) {
        let oh = g.outputSize(h, k: k), ow = g.outputSize(w, k: k)
        let cg = c / g.groups, og = o / g.groups
        var dInput = [Float](repeating: 0, count: input.count)
        var dWeights = [Float](repeating: 0, count: weights.count)
        var dBias = [Float](repeating: 0, count: o)
        for b in 0..<n { for oc in 0..<o { for y in 0..<oh { for x in 0..<ow {
            let gradient = outputGradient[((b * o + oc) * oh + y) * ow + x]
            dBias[oc] += gradient
            let group = oc / og
            for j in 0..<cg { for ky in 0..<k { for kx in 0..<k {
                let ic = group * cg + j
                let iy = y * g.stride + ky * g.dilation - g.padding, ix = x * g.stride + kx * g.dilation - g.padding
                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                let inputIndex = ((b * c + ic) * h + iy) * w + ix
                let weightIndex = ((oc * cg + j) * k + ky) * k + kx
                dInput[inputIndex] += gradient * weights[weightIndex]
                dWeights[weightIndex] += gradient * input[inputIndex]
            } } }
        } } } }
        return (dInput, dWeights, dBias)
    }
}
