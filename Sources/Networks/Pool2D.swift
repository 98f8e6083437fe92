import Tensors

/// Max or average pooling with a square window of any size, stride and padding, as ONNX's
/// MaxPool and AveragePool (and PyTorch's MaxPool2d / AvgPool2d) define them: padding counts as
/// −∞ for max; for average it counts in the divisor only with `countIncludePad` (and never past
/// the padded input). With `ceilMode` the last window may start past the input's end but not in
/// the end padding. Plain loops: imported networks pool once or twice, not in the hot path.
public final class Pool2D: Layer {
    public enum Kind: String, Codable, Sendable { case max, average }

    public let kind: Kind
    public let kernelSize: Int
    public let stride: Int
    public let padding: Int
    public let paddingEnd: Int
    public let ceilMode: Bool
    public let countIncludePad: Bool
    public var needsInputGradient = true
    public var parameters: [Parameter] { [] }

    private var inputShape: [Int] = []
    private var winners: [Int] = []   // max: for each output, the flat input index that won
    private var output = ReusableTensor()
    private var inputGradient = ReusableTensor()

    public init(kind: Kind, kernelSize: Int, stride: Int, padding: Int = 0, paddingEnd: Int? = nil, ceilMode: Bool = false,
                countIncludePad: Bool = false) {
        precondition(kernelSize >= 1 && stride >= 1 && padding >= 0 && padding < kernelSize && (paddingEnd ?? padding) < kernelSize,
                     "pooling needs a positive kernel and stride, and padding smaller than the kernel")
        self.kind = kind
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.paddingEnd = paddingEnd ?? padding
        self.ceilMode = ceilMode
        self.countIncludePad = countIncludePad
    }

    public func outputSize(_ n: Int) -> Int {
        let span = n + padding + paddingEnd - kernelSize
        guard span >= 0 else { return 0 }
        var size = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
        if ceilMode && (size - 1) * stride >= n + padding { size -= 1 }
        return size
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        precondition(inputShape.count == 4, "Pool2D expects [N, C, H, W], got \(inputShape)")
        return [inputShape[0], inputShape[1], outputSize(inputShape[2]), outputSize(inputShape[3])]
    }

    /// The window of output index `o` along an axis of `n`: the input range it covers and, for an
    /// average, the divisor.
    private func window(_ o: Int, _ n: Int) -> (range: Range<Int>, padded: Int) {
        let start = o * stride - padding, end = Swift.min(start + kernelSize, n + paddingEnd)
        return (Swift.max(start, 0)..<Swift.min(end, n), end - start)
    }

    public func forward(_ input: Tensor) -> Tensor {
        let shape = outputShape(for: input.shape)
        let result = output.tensor(shape: shape)
        inputShape = input.shape
        let planes = shape[0] * shape[1], h = input.shape[2], w = input.shape[3], oh = shape[2], ow = shape[3]
        if kind == .max && winners.count != result.count { winners = [Int](repeating: 0, count: result.count) }
        let x = input.pointer, y = result.pointer
        for plane in 0..<planes {
            let inBase = plane * h * w, outBase = plane * oh * ow
            for oy in 0..<oh {
                let rows = window(oy, h)
                for ox in 0..<ow {
                    let columns = window(ox, w), out = outBase + oy * ow + ox
                    switch kind {
                    case .max:
                        var best = -Float.infinity, at = inBase + rows.range.lowerBound * w + columns.range.lowerBound
                        for iy in rows.range { for ix in columns.range where x[inBase + iy * w + ix] > best {
                            best = x[inBase + iy * w + ix]
                            at = inBase + iy * w + ix
                        } }
                        y[out] = best
                        winners[out] = at
                    case .average:
                        var sum: Float = 0
                        for iy in rows.range { for ix in columns.range { sum += x[inBase + iy * w + ix] } }
                        let count = countIncludePad ? rows.padded * columns.padded : rows.range.count * columns.range.count
                        y[out] = sum / Float(Swift.max(count, 1))
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
        let g = outputGradient.pointer, dx = result.pointer
        switch kind {
        case .max:
            for i in 0..<outputGradient.count { dx[winners[i]] += g[i] }
        case .average:
            let shape = outputGradient.shape
            let planes = shape[0] * shape[1], h = inputShape[2], w = inputShape[3], oh = shape[2], ow = shape[3]
            for plane in 0..<planes {
                let inBase = plane * h * w, outBase = plane * oh * ow
                for oy in 0..<oh {
                    let rows = window(oy, h)
                    for ox in 0..<ow {
                        let columns = window(ox, w)
                        let count = countIncludePad ? rows.padded * columns.padded : rows.range.count * columns.range.count
                        let share = g[outBase + oy * ow + ox] / Float(Swift.max(count, 1))
                        for iy in rows.range { for ix in columns.range { dx[inBase + iy * w + ix] += share } }
                    }
                }
            }
        }
        return result
    }
}
