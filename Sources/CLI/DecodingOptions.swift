import Akin
import ArgumentParser

/// `--max-pixels`, for every command that decodes images.
struct DecodingOptions: ParsableArguments {
    @Option(help: "Refuse images whose header declares more pixels (default \(ImageDecoder.defaultMaxPixels), twice Pillow's MAX_IMAGE_PIXELS); checked before any memory is allocated for them.")
    var maxPixels: Int?

    func validate() throws {
        if let maxPixels, maxPixels <= 0 { throw ValidationError("--max-pixels must be positive, not \(maxPixels)") }
    }

    /// Sets the limit for the whole process, before any image is decoded.
    func apply() {
        if let maxPixels { ImageDecoder.maxPixels = maxPixels }
    }
}
