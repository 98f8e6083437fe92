/// 8-bit pixels, interleaved (HWC): `channels` bytes per pixel, row after row.
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * channels, "pixel count does not match \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The centred square whose side is `fraction` of the shorter side (rounded, at least one
    /// pixel), as a center crop before resizing takes it. An empty image, or a fraction that is not
    /// in (0, 1], gives the image back as it is.
    public func centerSquare(keeping fraction: Float) -> Image {
        guard width > 0, height > 0, fraction > 0, fraction <= 1 else { return self }
        let shorter = min(width, height), side = max(1, min(shorter, Int((Float(shorter) * fraction).rounded())))
        if side == width && side == height { return self }
        // Offsets as torchvision's CenterCrop rounds them: half the leftover, halves to even.
        let left = Int((Double(width - side) / 2).rounded(.toNearestOrEven)), top = Int((Double(height - side) / 2).rounded(.toNearestOrEven))
        var cropped = [UInt8](repeating: 0, count: side * side * channels)
        let rowBytes = side * channels
        pixels.withUnsafeBufferPointer { source in
            cropped.withUnsafeMutableBufferPointer { target in
                for y in 0..<side {
                    let from = ((top + y) * width + left) * channels
                    for i in 0..<rowBytes { target[y * rowBytes + i] = source[from + i] }
                }
            }
        }
        return Image(width: side, height: side, channels: channels, pixels: cropped)
    }
}
