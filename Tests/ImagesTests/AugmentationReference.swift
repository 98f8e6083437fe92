import Foundation
import Images

/// `AugmentationDraw`'s recipe done the slow, obvious way: one stage at a time on whole Double
/// images in [0, 1], a real padded canvas for the crop, a 2×2 matrix inverted for the affine.
/// The fast path folds the stages together; the tests hold it to this.
enum AugmentationReference {
    typealias Planes = [[Double]]  // [channel][y * size + x]

    static func apply(_ bytes: ArraySlice<UInt8>, size: Int, channels: Int, draw: AugmentationDraw, preprocessing: Preprocessing) -> [Float] {
        var image: Planes = (0..<channels).map { ch in
            (0..<(size * size)).map { Double(bytes[bytes.startIndex + ch * size * size + $0]) / 255 }
        }
        image = crop(image, size: size, shiftX: draw.shiftX, shiftY: draw.shiftY)
        if draw.flip { image = mirror(image, size: size) }
        image = affine(image, size: size, draw: draw)
        image = image.map { $0.map { min(1, max(0, $0 * Double(draw.brightness))) } }
        let mean = grayMean(image)
        let c = Double(draw.contrast)
        image = image.map { $0.map { min(1, max(0, c * $0 + (1 - c) * mean)) } }
        var out: [Float] = []
        for ch in 0..<channels {
            for v in image[ch] { out.append(Float((v - Double(preprocessing.mean[ch])) / Double(preprocessing.std[ch]))) }
        }
        return out
    }

    /// Pads with black to (S + 2p)², then reads the S × S window whose corner is (p + shiftX, p + shiftY).
    static func crop(_ image: Planes, size: Int, shiftX: Int, shiftY: Int) -> Planes {
        let p = max(abs(shiftX), abs(shiftY)), padded = size + 2 * p
        return image.map { plane in
            var canvas = [Double](repeating: 0, count: padded * padded)
            for y in 0..<size { for x in 0..<size { canvas[(y + p) * padded + x + p] = plane[y * size + x] } }
            var window = [Double](repeating: 0, count: size * size)
            for y in 0..<size { for x in 0..<size { window[y * size + x] = canvas[(y + p + shiftY) * padded + x + p + shiftX] } }
            return window
        }
    }

    static func mirror(_ image: Planes, size: Int) -> Planes {
        image.map { plane in
            var out = plane
            for y in 0..<size { for x in 0..<size { out[y * size + x] = plane[y * size + size - 1 - x] } }
            return out
        }
    }

    static func affine(_ image: Planes, size: Int, draw: AugmentationDraw) -> Planes {
        let theta = Double(draw.rotationDegrees) * .pi / 180, s = Double(draw.scale)
        // Forward matrix, then its inverse by the 2×2 formula.
        let m = [[s * cos(theta), s * sin(theta)], [-s * sin(theta), s * cos(theta)]]
        let det = m[0][0] * m[1][1] - m[0][1] * m[1][0]
        let inverse = [[m[1][1] / det, -m[0][1] / det], [-m[1][0] / det, m[0][0] / det]]
        let c = Double(size - 1) / 2
        func pixel(_ plane: [Double], _ x: Int, _ y: Int) -> Double {
            x >= 0 && x < size && y >= 0 && y < size ? plane[y * size + x] : 0
        }
        return image.map { plane in
            var out = [Double](repeating: 0, count: size * size)
            for y in 0..<size {
                for x in 0..<size {
                    let px = Double(x) - c - Double(draw.translateX), py = Double(y) - c - Double(draw.translateY)
                    let u = c + inverse[0][0] * px + inverse[0][1] * py
                    let v = c + inverse[1][0] * px + inverse[1][1] * py
                    let x0 = Int(floor(u)), y0 = Int(floor(v))
                    let fx = u - floor(u), fy = v - floor(v)
                    out[y * size + x] = (1 - fy) * ((1 - fx) * pixel(plane, x0, y0) + fx * pixel(plane, x0 + 1, y0))
                        + fy * ((1 - fx) * pixel(plane, x0, y0 + 1) + fx * pixel(plane, x0 + 1, y0 + 1))
                }
            }
            return out
        }
    }

    /// Mean over pixels of 0.2989 R + 0.587 G + 0.114 B, or of the pixel for one channel.
    static func grayMean(_ image: Planes) -> Double {
        let weights = image.count == 3 ? [0.2989, 0.587, 0.114] : [Double](repeating: 1 / Double(image.count), count: image.count)
        var total = 0.0
        for (plane, w) in zip(image, weights) { total += w * plane.reduce(0, +) }
        return total / Double(image[0].count)
    }
}
