/// Separable resampling with a triangle (bilinear) filter whose support widens with the
/// downscaling factor, as PIL's antialiased resize does: every source pixel contributes, so
/// shrinking a large photo does not alias. Scaling 1:1 copies exactly.
public enum Resize {
    /// Per output index: the first source index and the normalised weights of the taps.
    struct Taps {
        var start: [Int] = []
        var weights: [[Float]] = []
    }

    static func taps(from source: Int, to target: Int) -> Taps {
        let scale = Double(source) / Double(target)
        let support = max(scale, 1)  // filter radius in source pixels
        var taps = Taps()
        for i in 0..<target {
            let center = (Double(i) + 0.5) * scale
            let first = max(0, Int((center - support).rounded(.down)))
            let last = min(source - 1, Int((center + support).rounded(.up)))
            var weights: [Float] = []
            var total = 0.0
            for j in first...max(first, last) {
                let distance = abs(Double(j) + 0.5 - center) / support
                let w = max(0, 1 - distance)
                weights.append(Float(w))
                total += w
            }
            if total == 0 { weights = weights.indices.map { $0 == 0 ? 1 : 0 }; total = 1 }
            taps.start.append(first)
            taps.weights.append(weights.map { $0 / Float(total) })
        }
        return taps
    }

    /// Resizes interleaved 8-bit pixels to width × height.
    public static func resize(_ image: Image, width: Int, height: Int) -> Image {
        if image.width == width && image.height == height { return image }
        let c = image.channels
        let horizontal = taps(from: image.width, to: width), vertical = taps(from: image.height, to: height)
        // Horizontal pass into floats, then vertical pass back to bytes.
        var middle = [Float](repeating: 0, count: width * image.height * c)
        image.pixels.withUnsafeBufferPointer { src in
            middle.withUnsafeMutableBufferPointer { mid in
                for y in 0..<image.height {
                    for x in 0..<width {
                        let start = horizontal.start[x], weights = horizontal.weights[x]
                        for ch in 0..<c {
                            var sum: Float = 0
                            for (t, w) in weights.enumerated() { sum += w * Float(src[(y * image.width + start + t) * c + ch]) }
                            mid[(y * width + x) * c + ch] = sum
                        }
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: width * height * c)
        middle.withUnsafeBufferPointer { mid in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let start = vertical.start[y], weights = vertical.weights[y]
                    for x in 0..<width {
                        for ch in 0..<c {
                            var sum: Float = 0
                            for (t, w) in weights.enumerated() { sum += w * mid[((start + t) * width + x) * c + ch] }
                            dst[(y * width + x) * c + ch] = UInt8(max(0, min(255, sum.rounded())))
                        }
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: c, pixels: out)
    }
}
