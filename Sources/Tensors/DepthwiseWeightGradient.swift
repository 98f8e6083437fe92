import CDNNL
import Dispatch

/// The weight and bias gradients of a depthwise convolution (one filter per channel), for the
/// shapes where oneDNN 2.6 has no fast kernel: its jit depthwise weight gradient takes 3 × 3
/// kernels only, and for 5 × 5 (EfficientNet's) it falls back to a GEMM per channel, 5–10 times
/// slower than this. `GraphKernel` uses it when oneDNN says it chose such a fallback.
///
/// Activations are in nChw8c, a layout this type asks for (the caller reorders into it whatever
/// layout oneDNN chose): eight channels side by side, so each output pixel's gradient is one
/// SIMD8 vector multiplied into the input pixels its k × k taps read.
/// `DepthwiseWeightGradient.reference` computes the same with plain loops on NCHW, for the tests.
public final class DepthwiseWeightGradient {
    public let shape: ConvolutionShape
    /// The two activations' layouts: `input` and `outputGradient` must be bound in these.
    let inputLayout: dnnl_memory_desc_t, outputGradientLayout: dnnl_memory_desc_t

    public init(shape: ConvolutionShape) throws(OneDNNError) {
        precondition(shape.groups == shape.inputChannels && shape.outputChannels == shape.inputChannels,
                     "a depthwise convolution has one filter per channel")
        self.shape = shape
        inputLayout = try plainLayout(shape.inputShape, dnnl_nChw8c)
        outputGradientLayout = try plainLayout(shape.outputShape, dnnl_nChw8c)
    }

    /// Whether oneDNN's implementation `name` (from `DNNLPrimitive.implementation`) is a fallback
    /// this type beats: a GEMM or reference kernel for a depthwise weight gradient.
    static func replaces(implementation name: String) -> Bool { name.contains("gemm") || name.contains("ref") }

    /// Overwrites `weightGradient` ([C, 1, k, k]) and `biasGradient` ([C], when given). `input` and
    /// `outputGradient` are in nChw8c (padded to a multiple of 8 channels).
    public func run(input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, weightGradient: UnsafeMutablePointer<Float>,
                    biasGradient: UnsafeMutablePointer<Float>?, threads: Int) {
        let s = shape, blocks = (s.inputChannels + 7) / 8
        let (h, w, oh, ow, k) = (s.height, s.width, s.outputHeight, s.outputWidth, s.kernelSize)
        let inputBlock = h * w * 8, outputBlock = oh * ow * 8
        let inputImage = blocks * inputBlock, outputImage = blocks * outputBlock
        // Each channel block is independent: the threads split the blocks, so no sums collide.
        let input = UncheckedSendable(input), outputGradient = UncheckedSendable(outputGradient)
        let weights = UncheckedSendable(weightGradient), bias = biasGradient.map(UncheckedSendable.init)
        let workers = max(1, min(threads, blocks))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            // k × k accumulators of 8 channels, for one block at a time.
            var sums = [SIMD8<Float>](repeating: .zero, count: k * k)
            for block in stride(from: worker, to: blocks, by: workers) {
                for i in sums.indices { sums[i] = .zero }
                var biasSum = SIMD8<Float>.zero
                sums.withUnsafeMutableBufferPointer { sums in
                    for n in 0..<s.batch {
                        let x = input.value + n * inputImage + block * inputBlock
                        let dy = outputGradient.value + n * outputImage + block * outputBlock
                        for oy in 0..<oh {
                            for ky in 0..<k {
                                let iy = oy * s.stride - s.padding + ky * s.dilation
                                guard iy >= 0 && iy < h else { continue }
                                let row = x + iy * w * 8, taps = sums.baseAddress! + ky * k
                                for ox in 0..<ow {
                                    let g = UnsafeRawPointer(dy + (oy * ow + ox) * 8).loadUnaligned(as: SIMD8<Float>.self)
                                    let left = ox * s.stride - s.padding
                                    for kx in 0..<k {
                                        let ix = left + kx * s.dilation
                                        guard ix >= 0 && ix < w else { continue }
                                        taps[kx] += g * UnsafeRawPointer(row + ix * 8).loadUnaligned(as: SIMD8<Float>.self)
                                    }
                                }
                            }
                        }
                        if bias != nil {
                            for p in 0..<(oh * ow) { biasSum += UnsafeRawPointer(dy + p * 8).loadUnaligned(as: SIMD8<Float>.self) }
                        }
                    }
                }
                for lane in 0..<min(8, s.inputChannels - block * 8) {
                    let channel = block * 8 + lane
                    for tap in 0..<(k * k) { weights.value[channel * k * k + tap] = sums[tap][lane] }
                    bias?.value[channel] = biasSum[lane]
                }
            }
        }
    }
}
