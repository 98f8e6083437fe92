/// Separable resampling with a triangle (bilinear) filter whose support widens with the
/// downscaling factor, as PIL's antialiased resize does: every source pixel contributes, so
/// shrinking a large photo does not alias. Scaling 1:1 copies exactly.
public enum Resize {
    /// For each output index, `width` taps starting at source index `start[i]`, with weights
    /// `weights[i * width ..< (i + 1) * width]` (zero past the real taps), summing to 1.
    struct Taps {
        var start: [Int]
        var weights: [Float]
        var width: Int
    }

    static func taps(from source: Int, to target: Int) -> Taps {
        let scale = Double(source) / Double(target)
        let support = max(scale, 1)  // filter radius in source pixels
        let width = Int((2 * support).rounded(.up)) + 2
        var taps = Taps(start: [Int](repeating: 0, count: target), weights: [Float](repeating: 0, count: target * width), width: width)
        for i in 0..<target {
            let center = (Double(i) + 0.5) * scale
            let first = max(0, Int((center - support).rounded(.down)))
            let last = min(source - 1, first + width - 1, Int((center + support).rounded(.up)))
            var total = 0.0
            for j in first...max(first, last) { total += max(0, 1 - abs(Double(j) + 0.5 - center) / support) }
            taps.start[i] = first
            for j in first...max(first, last) {
                let w = max(0, 1 - abs(Double(j) + 0.5 - center) / support)
                taps.weights[i * width + j - first] = total > 0 ? Float(w / total) : (j == first ? 1 : 0)
            }
        }
        return taps
    }

    /// Resizes interleaved 8-bit pixels to width × height.
    public static func resize(_ image: Image, width: Int, height: Int) -> Image {
        if image.width == width && image.height == height { return image }
        let c = image.channels, sourceWidth = image.width, sourceHeight = image.height
        let horizontal = taps(from: sourceWidth, to: width), vertical = taps(from: sourceHeight, to: height)
        // Horizontal pass into floats, then vertical pass back to bytes. Taps past the source
        // edge have zero weight, and their indices are clamped so they never read outside it.
        var middle = [Float](repeating: 0, count: width * sourceHeight * c)
        var out = [UInt8](repeating: 0, count: width * height * c)
        image.pixels.withUnsafeBufferPointer { src in
            middle.withUnsafeMutableBufferPointer { mid in
                horizontal.weights.withUnsafeBufferPointer { weights in
                    let tw = horizontal.width
                    for y in 0..<sourceHeight {
                        for x in 0..<width {
                            let start = horizontal.start[x]
                            for ch in 0..<c {
                                var sum: Float = 0
                                for t in 0..<tw {
                                    let sx = min(start + t, sourceWidth - 1)
                                    sum += weights[x * tw + t] * Float(src[(y * sourceWidth + sx) * c + ch])
                                }
                                mid[(y * width + x) * c + ch] = sum
                            }
                        }
                    }
                }
            }
        }
        middle.withUnsafeBufferPointer { mid in
            out.withUnsafeMutableBufferPointer { dst in
                vertical.weights.withUnsafeBufferPointer { weights in
                    let tw = vertical.width
                    for y in 0..<height {
                        let start = vertical.start[y]
                        for x in 0..<width {
                            for ch in 0..<c {
                                var sum: Float = 0
                                for t in 0..<tw {
                                    let sy = min(start + t, sourceHeight - 1)
                                    sum += weights[y * tw + t] * mid[(sy * width + x) * c + ch]
                                }
                                dst[(y * width + x) * c + ch] = UInt8(max(0, min(255, sum.rounded())))
                            }
                        }
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: c, pixels: out)
    }
}
