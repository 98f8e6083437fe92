import Foundation
import Tensors

extension ImageSet {
    /// Writes images `indices` into `batch` ([indices.count, C, S, S]) as standardised floats,
    /// each changed by `augmentation`. The image at batch position i draws from
    /// `Augmentation.generator(seed: seed, position: i)`, so the batch depends only on the seed,
    /// never on the number of threads. With `Augmentation.none` the batch is bit-for-bit `fill`'s.
    /// Runs on all cores. `firstPosition` is where `indices` start in a larger batch (a
    /// data-parallel process's slice), so each image draws as it would in the whole batch.
    public func fill(_ batch: UnsafeMutablePointer<Float>, indices: some Collection<Int>, preprocessing: Preprocessing,
                     augmentation: Augmentation, seed: UInt64, firstPosition: Int = 0) {
        precondition((try? augmentation.validate()) != nil, "augmentation \(augmentation) is out of range; call validate() when reading it")
        let size = imageSize
        fillAugmented(batch, indices: Array(indices), preprocessing: preprocessing) { position in
            var generator = Augmentation.generator(seed: seed, position: firstPosition + position)
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
        guard !indices.isEmpty else { return }
        // Pixels are kept in 0…255 units throughout, and standardised as `fill` does (x · scale + shift),
        // so an untouched pixel gives exactly `fill`'s float.
        var scale = [Float](repeating: 0, count: channels), shift = [Float](repeating: 0, count: channels)
        for ch in 0..<channels {
            scale[ch] = 1 / (255 * preprocessing.std[ch])
            shift[ch] = -preprocessing.mean[ch] / preprocessing.std[ch]
        }
        let (size, channels, perImage) = (imageSize, self.channels, valuesPerImage)
        let (standardScale, standardShift) = (scale, shift)
        // A few chunks per core, so a core slowed by other work does not hold up the batch.
        let pieces = 4 * ComputeThreads.count
        let chunk = max(1, (indices.count + pieces - 1) / pieces)
        let chunks = (indices.count + chunk - 1) / chunk
        let output = UncheckedSendable(batch)
        pixels.withUnsafeBufferPointer { p in
            let source = UncheckedSendable(p.baseAddress!)
            ComputeThreads.forEach(chunks) { c in
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
/// place, so the kernel allocates nothing (the warp's small tables live on the stack).
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
                    let mirrored = sourceRow + (size - 1 + dx)  // column x reads mirrored[−x]
                    for x in first..<end { row[x] = Float(mirrored[-x]) }
                } else {
                    let shifted = sourceRow + dx
                    for x in first..<end { row[x] = Float(shifted[x]) }
                }
                (row + end).update(repeating: 0, count: size - end)
            }
        }
    }

    /// Steps 1–3 as one inverse-mapped bilinear resample. A tap is read only if it lies inside the
    /// flipped, cropped frame and its source pixel inside the image; otherwise its weight is zeroed,
    /// which is the same as reading black. Which taps are readable, and where, depends on the axis
    /// alone, so it is tabulated once per image (on the stack) for frame indices −1…S.
    static func warp(_ source: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<Float>, size: Int, channels: Int,
                     draw: AugmentationDraw) {
        let plane = size * size, dx = draw.shiftX, dy = draw.shiftY
        let centre = Double(size - 1) / 2
        let angle = Double(draw.rotationDegrees) * .pi / 180, inverseScale = 1 / Double(draw.scale)
        // M⁻¹ = (1 / scale) · [[cos, −sin], [sin, cos]].
        let a00 = inverseScale * cos(angle), a01 = -inverseScale * sin(angle)
        let a10 = inverseScale * sin(angle), a11 = inverseScale * cos(angle)
        let tx = Double(draw.translateX), ty = Double(draw.translateY)
        let limit = Double(size)

        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * (size + 2)) { offsets in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * (size + 2)) { masks in
                // Entry i + 1 describes frame index i: [0, S + 2) columns, then [S + 2, 2S + 4) rows.
                let columnOffset = offsets.baseAddress!, rowOffset = columnOffset + size + 2
                let columnMask = masks.baseAddress!, rowMask = columnMask + size + 2
                for i in -1...size {
                    let sx = draw.flip ? size - 1 - i + dx : i + dx, sy = i + dy
                    let inside = i >= 0 && i < size
                    let column = inside && sx >= 0 && sx < size, row = inside && sy >= 0 && sy < size
                    columnOffset[i + 1] = column ? sx : 0
                    columnMask[i + 1] = column ? 1 : 0
                    rowOffset[i + 1] = row ? sy * size : 0
                    rowMask[i + 1] = row ? 1 : 0
                }
                for y in 0..<size {
                    let qy = Double(y) - centre - ty
                    let rowU = centre + a01 * qy - a00 * (centre + tx)
                    let rowV = centre + a11 * qy - a10 * (centre + tx)
                    for x in 0..<size {
                        let u = rowU + a00 * Double(x), v = rowV + a10 * Double(x)
                        let out = output + y * size + x
                        // Both taps of an axis fall outside unless −1 ≤ u < S (NaN fails too).
                        guard u >= -1, u < limit, v >= -1, v < limit else {
                            for ch in 0..<channels { out[ch * plane] = 0 }
                            continue
                        }
                        // u + 1 ≥ 0, so truncation is floor, without a libm call.
                        let iu = Int(u + 1), iv = Int(v + 1)  // floor(u) + 1: the table entry of the first tap
                        let fu = Float(u - Double(iu &- 1)), fv = Float(v - Double(iv &- 1))
                        let wc0 = columnMask[iu] * (1 - fu), wc1 = columnMask[iu &+ 1] * fu
                        let wr0 = rowMask[iv] * (1 - fv), wr1 = rowMask[iv &+ 1] * fv
                        // Indices stay within the image by construction of the tables.
                        let i00 = rowOffset[iv] &+ columnOffset[iu], i01 = rowOffset[iv] &+ columnOffset[iu &+ 1]
                        let i10 = rowOffset[iv &+ 1] &+ columnOffset[iu], i11 = rowOffset[iv &+ 1] &+ columnOffset[iu &+ 1]
                        var s = source, o = out
                        for _ in 0..<channels {
                            let top = wc0 * Float(s[i00]) + wc1 * Float(s[i01])
                            let bottom = wc0 * Float(s[i10]) + wc1 * Float(s[i11])
                            o.pointee = wr0 * top + wr1 * bottom
                            s += plane
                            o += plane
                        }
                    }
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
                for x in 0..<size { row[x] = min(max(row[x] * brightness, 0), 255) }
                // Four running sums, so the additions need not wait on each other.
                var sums = SIMD4<Float>.zero, x = 0
                while x + 4 <= size {
                    sums += SIMD4(row[x], row[x + 1], row[x + 2], row[x + 3])
                    x += 4
                }
                while x < size { sums[0] += row[x]; x += 1 }
                total += Double(sums.sum())
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
