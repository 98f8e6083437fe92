import Foundation
import Tensors

extension ImageSet {
    /// Writes images `indices` into `batch` ([indices.count, C, S, S]) as standardised floats,
    /// each changed by `augmentation`. The image at batch position i draws from
    /// `Augmentation.generator(seed: seed, position: i)`, so the batch depends only on the seed,
    /// never on the number of threads. With `Augmentation.none` the batch is bit-for-bit `fill`'s.
    /// Runs on all cores.
    public func fill(_ batch: UnsafeMutablePointer<Float>, indices: some Collection<Int>, preprocessing: Preprocessing,
                     augmentation: Augmentation, seed: UInt64) {
        precondition((try? augmentation.validate()) != nil, "augmentation \(augmentation) is out of range; call validate() when reading it")
        let size = imageSize
        fillAugmented(batch, indices: Array(indices), preprocessing: preprocessing) { position in
            var generator = Augmentation.generator(seed: seed, position: position)
            return augmentation.draw(imageSize: size, using: &generator)
        }
    }

    /// Like the seeded `fill`, with the draws given: image at batch position i gets `draws[i]`.
    public func fill(_ batch: UnsafeMutablePointer<Float>, indices: some Collection<Int>, preprocessing: Preprocessing,
                     draws: [AugmentationDraw]) {
        precondition(draws.count == indices.count, "one draw per image: \(draws.count) draws for \(indices.count) images")
        precondition(draws.allSatisfy { $0.scale > 0 && $0.brightness >= 0 && $0.contrast >= 0 }, "a draw's scale must be positive and its factors not negative")
        fillAugmented(batch, indices: Array(indices), preprocessing: preprocessing) { draws[$0] }
    }

    private func fillAugmented(_ batch: UnsafeMutablePointer<Float>, indices: [Int], preprocessing: Preprocessing,
                               draw: @Sendable (Int) -> AugmentationDraw) {
        precondition(preprocessing.mean.count == channels && preprocessing.std.count == channels,
                     "preprocessing has \(preprocessing.mean.count) means and \(preprocessing.std.count) stds for \(channels) channels")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < count }, "an image index is outside 0..<\(count)")
        // Pixels are kept in 0…255 units throughout, and standardised as `fill` does (x · scale + shift),
        // so an untouched pixel gives exactly `fill`'s float.
        var scale = [Float](repeating: 0, count: channels), shift = [Float](repeating: 0, count: channels)
        for ch in 0..<channels {
            scale[ch] = 1 / (255 * preprocessing.std[ch])
            shift[ch] = -preprocessing.mean[ch] / preprocessing.std[ch]
        }
        let (size, channels, perImage) = (imageSize, self.channels, valuesPerImage)
        let (standardScale, standardShift) = (scale, shift)
        let chunk = max(1, (indices.count + 4 * ProcessInfo.processInfo.activeProcessorCount - 1) / (4 * ProcessInfo.processInfo.activeProcessorCount))
        let chunks = (indices.count + chunk - 1) / chunk
        let output = UnsafeSendable(batch)
        pixels.withUnsafeBufferPointer { p in
            let source = UnsafeSendable(p.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for position in (c * chunk)..<min(indices.count, (c + 1) * chunk) {
                    ImageAugmenter.augment(source.value + indices[position] * perImage, into: output.value + position * perImage,
                                           size: size, channels: channels, draw: draw(position),
                                           scale: standardScale, shift: standardShift)
                }
            }
        }
    }
}

/// The fast path of `AugmentationDraw`'s recipe for one image. The geometry writes 0…255 floats
/// straight into the image's slot of the batch; the colour changes and standardisation then run in
/// place, so nothing is allocated.
enum ImageAugmenter {
    /// torchvision's `rgb_to_grayscale` weights, for the contrast mean of three-channel images.
    static let grayWeights: [Double] = [0.2989, 0.587, 0.114]

    static func augment(_ source: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>, size: Int, channels: Int,
                        draw: AugmentationDraw, scale: [Float], shift: [Float]) {
        if draw.hasAffine {
            warp(source, into: output, size: size, channels: channels, draw: draw)
        } else {
            shiftCopy(source, into: output, size: size, channels: channels, draw: draw)
        }
        adjustAndStandardise(output, size: size, channels: channels, draw: draw, scale: scale, shift: shift)
    }

    /// Steps 1–2 alone: an exact integer shift (black entering) and optional mirror.
    static func shiftCopy(_ source: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>, size: Int, channels: Int,
                          draw: AugmentationDraw) {
        let plane = size * size, dx = draw.shiftX, dy = draw.shiftY
        // Columns whose source column (x + dx, or S − 1 − x + dx mirrored) lies inside the image.
        let first = draw.flip ? max(0, dx) : max(0, -dx)
        let end = draw.flip ? min(size, size + dx) : min(size, size - dx)
        for ch in 0..<channels {
            for y in 0..<size {
                let row = output + ch * plane + y * size
                let sy = y + dy
                guard sy >= 0, sy < size, first < end else {
                    row.update(repeating: 0, count: size)
                    continue
                }
                let sourceRow = source + ch * plane + sy * size
                row.update(repeating: 0, count: first)
                if draw.flip {
                    for x in first..<end { row[x] = Float(sourceRow[size - 1 - x + dx]) }
                } else {
                    for x in first..<end { row[x] = Float(sourceRow[x + dx]) }
                }
                (row + end).update(repeating: 0, count: size - end)
            }
        }
    }

    /// Steps 1–3 as one inverse-mapped bilinear resample. A tap is read only if it lies inside the
    /// flipped, cropped frame and its source pixel inside the image; otherwise its weight is zeroed,
    /// which is the same as reading black.
    static func warp(_ source: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>, size: Int, channels: Int,
                     draw: AugmentationDraw) {
        let plane = size * size, dx = draw.shiftX, dy = draw.shiftY
        let centre = Double(size - 1) / 2
        let angle = Double(draw.rotationDegrees) * .pi / 180, inverseScale = 1 / Double(draw.scale)
        // M⁻¹ = (1 / scale) · [[cos, −sin], [sin, cos]].
        let a00 = inverseScale * cos(angle), a01 = -inverseScale * sin(angle)
        let a10 = inverseScale * sin(angle), a11 = inverseScale * cos(angle)
        let tx = Double(draw.translateX), ty = Double(draw.translateY)

        /// Offset of frame column `i` in a source row, or nil outside either frame.
        @inline(__always) func column(_ i: Int) -> Int? {
            guard i >= 0, i < size else { return nil }
            let s = draw.flip ? size - 1 - i + dx : i + dx
            return s >= 0 && s < size ? s : nil
        }
        @inline(__always) func row(_ i: Int) -> Int? {
            guard i >= 0, i < size else { return nil }
            let s = i + dy
            return s >= 0 && s < size ? s * size : nil
        }

        for y in 0..<size {
            let qy = Double(y) - centre - ty
            let rowU = centre + a01 * qy - a00 * (centre + tx)
            let rowV = centre + a11 * qy - a10 * (centre + tx)
            for x in 0..<size {
                let u = rowU + a00 * Double(x), v = rowV + a10 * Double(x)
                let u0 = u.rounded(.down), v0 = v.rounded(.down)
                let out = output + y * size + x
                guard u0 >= -1, u0 < Double(size), v0 >= -1, v0 < Double(size) else {
                    for ch in 0..<channels { out[ch * plane] = 0 }
                    continue
                }
                let fu = Float(u - u0), fv = Float(v - v0)
                let iu = Int(u0), iv = Int(v0)
                let c0 = column(iu), c1 = column(iu + 1), r0 = row(iv), r1 = row(iv + 1)
                let wc0: Float = c0 == nil ? 0 : 1 - fu, wc1: Float = c1 == nil ? 0 : fu
                let wr0: Float = r0 == nil ? 0 : 1 - fv, wr1: Float = r1 == nil ? 0 : fv
                let oc0 = c0 ?? 0, oc1 = c1 ?? 0, or0 = r0 ?? 0, or1 = r1 ?? 0
                for ch in 0..<channels {
                    let s = source + ch * plane
                    let top = wc0 * Float(s[or0 + oc0]) + wc1 * Float(s[or0 + oc1])
                    let bottom = wc0 * Float(s[or1 + oc0]) + wc1 * Float(s[or1 + oc1])
                    out[ch * plane] = wr0 * top + wr1 * bottom
                }
            }
        }
    }

    /// Steps 4–5, the clamp to [0, 255] and standardisation, in place.
    static func adjustAndStandardise(_ image: UnsafeMutablePointer<Float>, size: Int, channels: Int, draw: AugmentationDraw,
                                     scale: [Float], shift: [Float]) {
        let plane = size * size, brightness = draw.brightness
        guard draw.contrast != 1 else {
            for ch in 0..<channels {
                let values = image + ch * plane, a = scale[ch], b = shift[ch]
                for i in 0..<plane { values[i] = min(max(values[i] * brightness, 0), 255) * a + b }
            }
            return
        }
        var mean = 0.0
        for ch in 0..<channels {
            let values = image + ch * plane
            var total = 0.0
            for y in 0..<size {
                // A row's Float sum is exact enough; Double carries the plane.
                let row = values + y * size
                var sum: Float = 0
                for x in 0..<size {
                    let v = min(max(row[x] * brightness, 0), 255)
                    row[x] = v
                    sum += v
                }
                total += Double(sum)
            }
            mean += total * (channels == 3 ? grayWeights[ch] : 1 / Double(channels))
        }
        let blend = Float(mean / Double(plane)) * (1 - draw.contrast), contrast = draw.contrast
        for ch in 0..<channels {
            let values = image + ch * plane, a = scale[ch], b = shift[ch]
            for i in 0..<plane { values[i] = min(max(values[i] * contrast + blend, 0), 255) * a + b }
        }
    }
}
