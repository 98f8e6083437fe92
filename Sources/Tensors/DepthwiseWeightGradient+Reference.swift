import CDNNL
import Dispatch

/// The plain version the tests hold the fast one to.
extension DepthwiseWeightGradient {
    /// The same gradients with plain loops, on NCHW activations: what the tests hold the fast
    /// version to.
    public static func reference(shape s: ConvolutionShape, input: [Float], outputGradient: [Float]) -> (weights: [Float], bias: [Float]) {
        let (h, w, oh, ow, k, c) = (s.height, s.width, s.outputHeight, s.outputWidth, s.kernelSize, s.inputChannels)
        var weights = [Float](repeating: 0, count: c * k * k), bias = [Float](repeating: 0, count: c)
        for n in 0..<s.batch {
            for channel in 0..<c {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let g = outputGradient[((n * c + channel) * oh + oy) * ow + ox]
                        bias[channel] += g
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let iy = oy * s.stride - s.padding + ky * s.dilation, ix = ox * s.stride - s.padding + kx * s.dilation
                                guard iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
                                weights[(channel * k + ky) * k + kx] += g * input[((n * c + channel) * h + iy) * w + ix]
                            }
                        }
                    }
                }
            }
        }
        return (weights, bias)
    }
}
