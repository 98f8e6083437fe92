import CTurboJPEG
import Foundation

/// JPEG decoding through libjpeg-turbo's TurboJPEG API, which also converts colour spaces.
enum JPEG {
    /// - Parameters:
    ///   - maxPixels: refused above this many pixels, as the header declares them, before any buffer exists.
    ///   - minimumSide: when set, the image is decoded at the smallest of libjpeg-turbo's scales
    ///     (1/8 … 1) whose width and height both stay at least this, in the DCT domain: an 8-megapixel
    ///     photo that will be resized to 224 decodes at 1/8 of the work.
    static func decode(_ data: Data, channels: Int, maxPixels: Int, minimumSide: Int?) throws(ImageError) -> Image {
        guard let handle = tjInitDecompress() else { throw .corruptJPEG("libjpeg-turbo could not start") }
        defer { tjDestroy(handle) }
        func reason() -> String { String(cString: tjGetErrorStr2(handle)) }
        guard var (width, height) = header(data, handle: handle) else { throw .corruptJPEG(reason()) }
        guard width > 0, height > 0 else { throw .tooSmall(width: Int(width), height: Int(height)) }
        guard Int(width) * Int(height) <= maxPixels else { throw .tooManyPixels(width: Int(width), height: Int(height), limit: maxPixels) }
        (width, height) = minimumSide.map { scaled(width, height, keepingAtLeast: $0) } ?? (width, height)
        let format = channels == 1 ? TJPF_GRAY : TJPF_RGB
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
        // STOPONWARNING: a truncated file is a warning to libjpeg (it pads with gray); here it is an error.
        let flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING
        let status = data.withUnsafeBytes { bytes in
            pixels.withUnsafeMutableBufferPointer { out in
                tjDecompress2(handle, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(bytes.count),
                              out.baseAddress, width, 0, height, Int32(format.rawValue), Int32(flags))
            }
        }
        guard status == 0 else { throw .corruptJPEG(reason()) }
        return Image(width: Int(width), height: Int(height), channels: channels, pixels: pixels)
    }

    /// The frame header's width and height; nil when libjpeg-turbo cannot read a header.
    static func declaredSize(_ data: Data) -> (width: Int, height: Int)? {
        guard let handle = tjInitDecompress() else { return nil }
        defer { tjDestroy(handle) }
        return header(data, handle: handle).map { (Int($0.width), Int($0.height)) }
    }

    /// The frame header's width and height read by `handle`; nil (the reason in the handle) when it cannot be read.
    private static func header(_ data: Data, handle: tjhandle) -> (width: Int32, height: Int32)? {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let status = data.withUnsafeBytes { bytes in
            tjDecompressHeader3(handle, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(bytes.count),
                                &width, &height, &subsampling, &colorspace)
        }
        return status == 0 ? (width, height) : nil
    }

    /// The smallest size libjpeg-turbo can decode to (its scaling factors of at most 1) whose sides
    /// both stay at least `side`; the full size when none is smaller.
    static func scaled(_ width: Int32, _ height: Int32, keepingAtLeast side: Int) -> (Int32, Int32) {
        var count: Int32 = 0
        guard let factors = tjGetScalingFactors(&count) else { return (width, height) }
        var best = (width, height)
        for factor in UnsafeBufferPointer(start: factors, count: Int(count)) where factor.num <= factor.denom {
            // TJSCALED: ⌈dimension · num / denom⌉.
            let w = (Int(width) * Int(factor.num) + Int(factor.denom) - 1) / Int(factor.denom)
            let h = (Int(height) * Int(factor.num) + Int(factor.denom) - 1) / Int(factor.denom)
            if w >= side, h >= side, w * h < Int(best.0) * Int(best.1) { best = (Int32(w), Int32(h)) }
        }
        return best
    }
}

extension JPEG {
    /// Encodes 8-bit gray or RGB pixels as a baseline JPEG (4:2:0 for colour).
    static func encode(_ image: Image, quality: Int) throws(ImageError) -> Data {
        guard let handle = tjInitCompress() else { throw .corruptJPEG("libjpeg-turbo could not start") }
        defer { tjDestroy(handle) }
        var buffer: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let gray = image.channels == 1
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            tjCompress2(handle, pixels.baseAddress, Int32(image.width), 0, Int32(image.height),
                        Int32((gray ? TJPF_GRAY : TJPF_RGB).rawValue), &buffer, &size,
                        Int32((gray ? TJSAMP_GRAY : TJSAMP_420).rawValue), Int32(quality), Int32(TJFLAG_ACCURATEDCT))
        }
        defer { if let buffer { tjFree(buffer) } }
        guard status == 0, let buffer else { throw .corruptJPEG(String(cString: tjGetErrorStr2(handle))) }
        return Data(bytes: buffer, count: Int(size))
    }
}
