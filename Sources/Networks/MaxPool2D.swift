import Tensors

/// 2×2 max pooling with stride 2 and TensorFlow's SAME padding: the output is ceil(n/2) and
/// an odd edge is padded after the last row/column only (7→4, 2→1), padding never winning.
public final class MaxPool2D: Layer {
    public var needsInputGradient = true
    public var parameters: [Parameter] { [] }

    private var inputShape: [Int] = []
    private var winners: [Int] = []   // for each output, the flat input index that won
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()

    public init() {}

    public static func pooledSize(_ n: Int) -> Int { (n + 1) / 2 }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 4, "MaxPool2D expects [N, C, H, W], got \(inputShape)")
        return [inputShape[0], inputShape[1], Self.pooledSize(inputShape[2]), Self.pooledSize(inputShape[3])]
    }

    public func forward(_ input: Tensor) -> Tensor {
        let shape = outputShape(for: input.shape)
        let result = output.tensor(shape: shape)
        inputShape = input.shape
        let planes = shape[0] * shape[1], h = input.shape[2], w = input.shape[3], oh = shape[2], ow = shape[3]
        if winners.count != result.count { winners = [Int](repeating: 0, count: result.count) }
        let src = input.pointer, dst = result.pointer
        winners.withUnsafeMutableBufferPointer { won in
            for plane in 0..<planes {
                let inBase = plane * h * w, outBase = plane * oh * ow
                for oy in 0..<oh {
                    let y0 = 2 * oy, y1 = min(2 * oy + 1, h - 1)
                    for ox in 0..<ow {
                        let x0 = 2 * ox, x1 = min(2 * ox + 1, w - 1)
                        // An odd edge repeats its last row/column, which can never beat itself.
                        var best = inBase + y0 * w + x0
                        let b = inBase + y0 * w + x1, c = inBase + y1 * w + x0, d = inBase + y1 * w + x1
                        if src[b] > src[best] { best = b }
                        if src[c] > src[best] { best = c }
                        if src[d] > src[best] { best = d }
                        dst[outBase + oy * ow + ox] = src[best]
                        won[outBase + oy * ow + ox] = best
                    }
                }
            }
        }
        return result
    }

    public func backward(_ outputGradient: Tensor) -> Tensor? {
        guard needsInputGradient else { return nil }
        let result = inputGradient.tensor(shape: inputShape)
        result.fill(0)
        let src = outputGradient.pointer, dst = result.pointer
        winners.withUnsafeBufferPointer { won in
            for i in 0..<won.count { dst[won[i]] += src[i] }
        }
        return result
    }
}
