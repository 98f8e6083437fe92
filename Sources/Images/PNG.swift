import CPNGShim
import Foundation

/// PNG through libpng's simplified API, behind the C shim: every colour type and bit depth comes
/// out as 8-bit gray or RGB, with alpha composited onto white.
enum PNG {
    static func decode(_ data: Data, channels: Int, maxPixels: Int) throws(ImageError) -> Image {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { bytes in
            akin_png_decode(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count, Int32(channels), UInt64(max(0, maxPixels)),
                            &pixels, &width, &height, &message, message.count)
        }
        if status == 2 { throw .tooManyPixels(width: Int(width), height: Int(height), limit: maxPixels) }
        guard status == 0, let pixels else {
            throw .corruptPNG(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { free(pixels) }
        let count = Int(width) * Int(height) * channels
        return Image(width: Int(width), height: Int(height), channels: channels,
                     pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
    }

    static func encode(_ image: Image) throws(ImageError) -> Data {
        var png: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            akin_png_encode(pixels.baseAddress, Int32(image.width), Int32(image.height), Int32(image.channels),
                            &png, &size, &message, message.count)
        }
        guard status == 0, let png else {
            throw .corruptPNG(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { free(png) }
        return Data(bytes: png, count: size)
    }
}
