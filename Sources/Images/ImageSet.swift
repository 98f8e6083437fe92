import Foundation
import Tensors

/// A file that a batch job skipped, and why.
public struct SkippedFile: Sendable {
    public var path: String
    public var reason: String
}

/// How images become network input: decoded to `channels`, optionally cropped to a centred
/// square, resized to size × size, scaled to [0, 1], then standardised per channel with the
/// training set's (or the pretrained network's) mean and std.
public struct Preprocessing: Codable, Equatable, Sendable {
    public var imageSize: Int
    public var channels: Int
    public var mean: [Float]
    public var std: [Float]
    /// The side of the centred square kept before resizing, as a fraction of the image's shorter
    /// side: 0.875 is torchvision's and timm's ImageNet evaluation (Resize(256), CenterCrop(224)).
    /// nil resizes the whole image to a square, stretching it if it is not one.
    public var centerCrop: Float?

    public init(imageSize: Int, channels: Int, mean: [Float]? = nil, std: [Float]? = nil, centerCrop: Float? = nil) {
        self.imageSize = imageSize
        self.channels = channels
        self.mean = mean ?? [Float](repeating: 0, count: channels)
        self.std = std ?? [Float](repeating: 1, count: channels)
        self.centerCrop = centerCrop
    }

    public var valuesPerImage: Int { channels * imageSize * imageSize }

    /// Whether `fraction` is a center crop Akin takes: more than 0, at most 1.
    public static func isValidCenterCrop(_ fraction: Float) -> Bool { fraction > 0 && fraction <= 1 }

    /// The side a decoded image needs at least so that `fitted` only ever shrinks it: the size,
    /// or with a center crop the size over the crop's fraction (the crop takes that much of the shorter side).
    public var decodedSide: Int {
        guard let centerCrop else { return imageSize }
        return Int((Float(imageSize) / centerCrop).rounded(.up))
    }

    /// A decoded image as the network sees it, before scaling: cropped, then resized to size × size.
    public func fitted(_ image: Image) -> Image {
        let cropped = centerCrop.map { image.centerSquare(keeping: $0) } ?? image
        return Resize.resize(cropped, width: imageSize, height: imageSize)
    }
}

/// Decoded, resized images held in memory as planar (CHW) bytes, one after another, with their
/// labels: training samples batches from here without touching the disk again.
public final class ImageSet: @unchecked Sendable {
    public let imageSize: Int
    public let channels: Int
    public let classNames: [String]
    public private(set) var paths: [String]
    public private(set) var labels: [Int32]
    public private(set) var pixels: [UInt8]

    public var count: Int { labels.count }
    public var valuesPerImage: Int { channels * imageSize * imageSize }

    public init(imageSize: Int, channels: Int, classNames: [String], paths: [String], labels: [Int32], pixels: [UInt8]) {
        precondition(pixels.count == labels.count * channels * imageSize * imageSize && paths.count == labels.count)
        self.imageSize = imageSize
        self.channels = channels
        self.classNames = classNames
        self.paths = paths
        self.labels = labels
        self.pixels = pixels
    }

    /// Decodes every file on all cores. Files that fail are returned in `skipped`, in file order.
    /// `progress(done, total)` is called from worker threads; `warning(path, message)` from the
    /// caller's, in file order, for files that decode but past Pillow's warning size
    /// (`ImageDecoder.largeImageWarning`). `centerCrop`: as `Preprocessing.centerCrop`.
    public static func load(_ files: [(path: String, label: Int)], classNames: [String], imageSize: Int, channels: Int,
                            centerCrop: Float? = nil, warning: (String, String) -> Void = { _, _ in },
                            progress: @Sendable (Int, Int) -> Void = { _, _ in }) -> (images: ImageSet, skipped: [SkippedFile]) {
        let fitting = Preprocessing(imageSize: imageSize, channels: channels, centerCrop: centerCrop)
        let perImage = channels * imageSize * imageSize
        let results = UnsafeMutableBufferPointer<Result<(pixels: [UInt8], warning: String?), ImageError>?>.allocate(capacity: files.count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        let done = Counter()
        let chunk = 64
        let chunks = (files.count + chunk - 1) / chunk
        let slots = UncheckedSendable(results)
        ComputeThreads.forEach(chunks) { c in
            for i in (c * chunk)..<min(files.count, (c + 1) * chunk) {
                slots.value[i] = Result { () throws(ImageError) -> (pixels: [UInt8], warning: String?) in
                    let data = try ImageDecoder.readFile(files[i].path)
                    let image = try ImageDecoder.decode(data, channels: channels, minimumSide: fitting.decodedSide)
                    return (planar(fitting.fitted(image)), ImageDecoder.largeImageWarning(data))
                }
            }
            progress(done.add(min(files.count, (c + 1) * chunk) - c * chunk), files.count)
        }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(files.count * perImage)
        var labels: [Int32] = [], paths: [String] = [], skipped: [SkippedFile] = []
        for (i, file) in files.enumerated() {
            switch results[i]! {
            case let .success(decoded):
                pixels += decoded.pixels
                if let message = decoded.warning { warning(file.path, message) }
                labels.append(Int32(file.label))
                paths.append(file.path)
            case let .failure(error):
                skipped.append(SkippedFile(path: file.path, reason: error.description))
            }
        }
        return (ImageSet(imageSize: imageSize, channels: channels, classNames: classNames, paths: paths, labels: labels, pixels: pixels), skipped)
    }

    /// Interleaved HWC bytes → planar CHW bytes, the order of NCHW tensors.
    static func planar(_ image: Image) -> [UInt8] {
        let c = image.channels, plane = image.width * image.height
        if c == 1 { return image.pixels }
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        for p in 0..<plane { for ch in 0..<c { out[ch * plane + p] = image.pixels[p * c + ch] } }
        return out
    }

    /// Per-channel mean and std of the [0, 1]-scaled pixels.
    public func channelStatistics() -> (mean: [Float], std: [Float]) {
        let plane = imageSize * imageSize
        var sums = [Double](repeating: 0, count: channels), squares = [Double](repeating: 0, count: channels)
        pixels.withUnsafeBufferPointer { p in
            for image in 0..<count {
                for ch in 0..<channels {
                    var s: UInt64 = 0, q: UInt64 = 0
                    let base = (image * channels + ch) * plane
                    for i in 0..<plane { let v = UInt64(p[base + i]); s += v; q += v * v }
                    sums[ch] += Double(s)
                    squares[ch] += Double(q)
                }
            }
        }
        let n = Double(max(1, count * plane))
        let mean = sums.map { $0 / n / 255 }
        let std = zip(squares, mean).map { max(($0 / n / 65025) - $1 * $1, 0).squareRoot() }
        return (mean.map(Float.init), std.map { Float(max($0, 1e-3)) })
    }

    /// Writes images `indices` into `batch` ([indices.count, C, S, S]) as standardised floats.
    public func fill(_ batch: UnsafeMutablePointer<Float>, indices: some Collection<Int>, preprocessing: Preprocessing) {
        let plane = imageSize * imageSize
        var scale = [Float](repeating: 0, count: channels), shift = [Float](repeating: 0, count: channels)
        for ch in 0..<channels {
            scale[ch] = 1 / (255 * preprocessing.std[ch])
            shift[ch] = -preprocessing.mean[ch] / preprocessing.std[ch]
        }
        pixels.withUnsafeBufferPointer { p in
            var out = batch
            for index in indices {
                for ch in 0..<channels {
                    let source = p.baseAddress! + (index * channels + ch) * plane
                    let a = scale[ch], b = shift[ch]
                    for i in 0..<plane { out[i] = Float(source[i]) * a + b }
                    out += plane
                }
            }
        }
    }
}

extension ImageSet {
    /// Images already decoded (each with `preprocessing.channels` channels), cropped and resized
    /// as `preprocessing` says; unlabelled. For embedding images that do not come from files.
    public convenience init(images: [Image], preprocessing: Preprocessing) throws(ImageError) {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(images.count * preprocessing.valuesPerImage)
        for image in images {
            guard image.channels == preprocessing.channels else {
                throw .wrongChannels(got: image.channels, needed: preprocessing.channels)
            }
            pixels += Self.planar(preprocessing.fitted(image))
        }
        self.init(imageSize: preprocessing.imageSize, channels: preprocessing.channels, classNames: [""],
                  paths: [String](repeating: "", count: images.count), labels: [Int32](repeating: 0, count: images.count), pixels: pixels)
    }
}

extension ImageSet {
    /// Image `i` as the network sees it before scaling (decoded, cropped and resized), interleaved.
    public func image(at i: Int) -> Image {
        let plane = imageSize * imageSize, c = channels
        var interleaved = [UInt8](repeating: 0, count: plane * c)
        pixels.withUnsafeBufferPointer { all in
            let planar = all.baseAddress! + i * plane * c
            for q in 0..<plane { for ch in 0..<c { interleaved[q * c + ch] = planar[ch * plane + q] } }
        }
        return Image(width: imageSize, height: imageSize, channels: c, pixels: interleaved)
    }
}
