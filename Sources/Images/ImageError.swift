/// Why one image file could not be used. Batch jobs report it with the file's path and carry on.
public enum ImageError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case empty
    case unknownFormat(firstBytes: String)
    case corruptJPEG(String)
    case corruptPNG(String)
    case unsupportedChannels(Int)
    case tooSmall(width: Int, height: Int)
    case wrongChannels(got: Int, needed: Int)
    case tooManyPixels(width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case let .unreadable(reason): return "cannot read the file (\(reason))"
        case .empty: return "the file is empty"
        case let .unknownFormat(bytes): return "not a JPEG or PNG (it starts with bytes \(bytes))"
        case let .corruptJPEG(reason): return "broken JPEG: \(reason)"
        case let .corruptPNG(reason): return "broken PNG: \(reason)"
        case let .unsupportedChannels(n): return "\(n) channels asked for; akin uses 1 (gray) or 3 (RGB)"
        case let .tooSmall(width, height): return "image is \(width)×\(height); it needs at least 1×1 pixels"
        case let .tooManyPixels(width, height, limit):
            return "image is \(width)×\(height) (\(width * height) pixels), more than the limit of \(limit) (a decompression bomb, or a very large photo: raise it with --max-pixels)"
        case let .wrongChannels(got, needed): return "the image has \(got) channels where \(needed) are needed; decode it with channels: \(needed)"
        }
    }
}
