import Foundation
import Images

enum ImageFuzzing {
    /// Smaller than the default budget, so an input declaring 13,000 × 13,000 pixels (which the
    /// default lets through) does not spend a second filling a buffer: the same checks run, at a
    /// size that keeps the fuzzer fast. The default budget itself is tested in ImagesTests.
    static let maxPixels = 1 << 22

    static func run(_ data: Data) {
        for (channels, minimumSide) in [(3, nil), (1, 24)] as [(Int, Int?)] {
            guard let image = try? ImageDecoder.decode(data, channels: channels, minimumSide: minimumSide, maxPixels: maxPixels) else {
                continue
            }
            fuzzCheck(image.width > 0 && image.height > 0 && image.channels == channels,
                      "decoded \(image.width)×\(image.height)×\(image.channels) for \(channels) channels")
            fuzzCheck(image.width * image.height <= maxPixels, "decoded \(image.width)×\(image.height) past the budget")
            fuzzCheck(image.pixels.count == image.width * image.height * channels, "pixel count does not match the size")
            if let minimumSide {
                fuzzCheck(min(image.width, image.height) >= min(minimumSide, 1), "scaled below the minimum side")
            }
            let resized = Resize.resize(image.centerSquare(keeping: 0.875), width: 16, height: 16)
            fuzzCheck(resized.pixels.count == 16 * 16 * channels, "resize gave \(resized.pixels.count) values")
        }
    }
}
