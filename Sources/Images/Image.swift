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
    /// pixel), as a center crop before resizing takes it.
    public func centerSquare(keeping fraction: Float) -> Image {
        let side = max(1, min(min(width, height), Int((Float(min(width, height)) * fraction).rounded())))
        if side == width && side == height { return self }
        // Centred; an odd leftover pixel goes to the right and bottom, as torchvision rounds.
        let left = (width - side) / 2, top = (height - side) / 2
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
