/// Plain loops that define what Conv2D computes; the tests hold the oneDNN path to them.
public enum ReferenceConv2D {
    /// input [n, c, h, w], weights [o, c, k, k], bias [o] → [n, o, h, w]
    public static func forward(input: [Float], n: Int, c: Int, h: Int, w: Int,
                               weights: [Float], bias: [Float], o: Int, k: Int) -> [Float] {
        let pad = (k - 1) / 2
        var output = [Float](repeating: 0, count: n * o * h * w)
        for b in 0..<n { for oc in 0..<o { for y in 0..<h { for x in 0..<w {
            var sum = bias[oc]
            for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = y + ky - pad, ix = x + kx - pad
                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                sum += input[((b * c + ic) * h + iy) * w + ix] * weights[((oc * c + ic) * k + ky) * k + kx]
            } } }
            output[((b * o + oc) * h + y) * w + x] = sum
        } } } }
        return output
    }

    /// Gradients with respect to input, weights and bias.
    public static func backward(input: [Float], n: Int, c: Int, h: Int, w: Int,
                                weights: [Float], o: Int, k: Int,
                                outputGradient: [Float]) -> (input: [Float], weights: [Float], bias: [Float]) {
        let pad = (k - 1) / 2
        var dInput = [Float](repeating: 0, count: input.count)
        var dWeights = [Float](repeating: 0, count: weights.count)
        var dBias = [Float](repeating: 0, count: o)
        for b in 0..<n { for oc in 0..<o { for y in 0..<h { for x in 0..<w {
            let g = outputGradient[((b * o + oc) * h + y) * w + x]
            dBias[oc] += g
            for ic in 0..<c { for ky in 0..<k { for kx in 0..<k {
                let iy = y + ky - pad, ix = x + kx - pad
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
