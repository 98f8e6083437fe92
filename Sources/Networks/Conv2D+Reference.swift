/// Plain loops that define what Conv2D computes; the tests hold the oneDNN path to them.
public enum ReferenceConv2D {
    static func outputSize(_ n: Int, k: Int, stride: Int, pad: Int) -> Int { (n + 2 * pad - k) / stride + 1 }

    /// input [n, c, h, w], weights [o, c, k, k], bias [o] (empty: none) → [n, o, oh, ow];
    /// padding defaults to (k − 1) / 2.
    public static func forward(input: [Float], n: Int, c: Int, h: Int, w: Int,
                               weights: [Float], bias: [Float], o: Int, k: Int, stride: Int = 1, padding: Int? = nil) -> [Float] {
        let pad = padding ?? (k - 1) / 2
        let oh = outputSize(h, k: k, stride: stride, pad: pad), ow = outputSize(w, k: k, stride: stride, pad: pad)
        var output = [Float](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n { for oc in 0..<o { for y in 0..<oh { for x in 0..<ow {
            var sum = bias.isEmpty ? 0 : bias[oc]
            for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = y * stride + ky - pad, ix = x * stride + kx - pad
                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                sum += input[((b * c + ic) * h + iy) * w + ix] * weights[((oc * c + ic) * k + ky) * k + kx]
            } } }
            output[((b * o + oc) * oh + y) * ow + x] = sum
        } } } }
        return output
    }

    /// Gradients with respect to input, weights and bias.
    public static func backward(input: [Float], n: Int, c: Int, h: Int, w: Int,
                                weights: [Float], o: Int, k: Int, stride: Int = 1, padding: Int? = nil,
                                outputGradient: [Float]) -> (input: [Float], weights: [Float], bias: [Float]) {
        let pad = padding ?? (k - 1) / 2
        let oh = outputSize(h, k: k, stride: stride, pad: pad), ow = outputSize(w, k: k, stride: stride, pad: pad)
        var dInput = [Float](repeating: 0, count: input.count)
        var dWeights = [Float](repeating: 0, count: weights.count)
        var dBias = [Float](repeating: 0, count: o)
        for b in 0..<n { for oc in 0..<o { for y in 0..<oh { for x in 0..<ow {
            let g = outputGradient[((b * o + oc) * oh + y) * ow + x]
            dBias[oc] += g
            for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = y * stride + ky - pad, ix = x * stride + kx - pad
                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                let inputIndex = ((b * c + ic) * h + iy) * w + ix
                let weightIndex = ((oc * c + ic) * k + ky) * k + kx
                dInput[inputIndex] += g * weights[weightIndex]
                dWeights[weightIndex] += g * input[inputIndex]
            } } }
        } } } }
        return (dInput, dWeights, dBias)
    }
}
