import CTurboJPEG
import Foundation

/// JPEG decoding through libjpeg-turbo's TurboJPEG API, which also converts colour spaces.
enum JPEG {
    static func decode(_ data: Data, channels: Int) throws(ImageError) -> Image {
        guard let handle = tjInitDecompress() else { throw .corruptJPEG("libjpeg-turbo could not start") }
        defer { tjDestroy(handle) }
        func reason() -> String { String(cString: tjGetErrorStr2(handle)) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let header = data.withUnsafeBytes { bytes in
            tjDecompressHeader3(handle, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(bytes.count),
                                &width, &height, &subsampling, &colorspace)
        }
        guard header == 0 else { throw .corruptJPEG(reason()) }
        guard width > 0, height > 0 else { throw .tooSmall(width: Int(width), height: Int(height)) }
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
