import Tensors

/// Random changes applied to training images as batches are filled, so the network learns what
/// stays the same under small shifts, turns and lighting changes. All zero (`none`) leaves images
/// untouched. Each image's changes are drawn from its own generator (see `generator(seed:position:)`),
/// so a batch is the same however many threads fill it.
///
/// The order, as in a torchvision pipeline `RandomCrop(padding) → RandomHorizontalFlip →
/// RandomAffine → ColorJitter(brightness, contrast)`, is spelled out on `AugmentationDraw`.
public struct Augmentation: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Pad by this many black (0) pixels on each side, then cut a random size × size window:
    /// a random integer shift in [−p, p] on each axis, as torchvision's `RandomCrop(padding: p)`.
    public var cropPadding: Int
    /// Mirror left–right with probability ½. Leave it off where a mirror changes the class
    /// (digits, letters, left/right shoes).
    public var horizontalFlip: Bool
    /// Rotation uniform in [−r, r] degrees about the image centre.
    public var rotationDegrees: Float
    /// Scale uniform in [1 − s, 1 + s] about the image centre; s < 1.
    public var scaleJitter: Float
    /// Translation uniform in [−t·S, t·S] pixels on each axis (sub-pixel, S the image size).
    public var translateFraction: Float
    /// Brightness factor uniform in [max(0, 1 − b), 1 + b], multiplying the [0, 1] pixels
    /// (torchvision's `ColorJitter(brightness: b)` convention).
    public var brightness: Float
    /// Contrast factor f uniform in [max(0, 1 − c), 1 + c]: pixels become f·x + (1 − f)·mean, the mean
    /// of the image's gray values (torchvision's `ColorJitter(contrast: c)` convention).
    public var contrast: Float

    public init(cropPadding: Int = 0, horizontalFlip: Bool = false, rotationDegrees: Float = 0, scaleJitter: Float = 0,
                translateFraction: Float = 0, brightness: Float = 0, contrast: Float = 0) {
        self.cropPadding = cropPadding
        self.horizontalFlip = horizontalFlip
        self.rotationDegrees = rotationDegrees
        self.scaleJitter = scaleJitter
        self.translateFraction = translateFraction
        self.brightness = brightness
        self.contrast = contrast
    }

    /// No change at all: batches are exactly those of the plain `fill`.
    public static let none = Augmentation()

    /// A mild default: shifts of up to 2 pixels with black entering. No flip, since a mirror
    /// changes what some classes mean (digits); turn it on where it does not.
    public static let standard = Augmentation(cropPadding: 2)

    public var isIdentity: Bool {
        cropPadding == 0 && !horizontalFlip && rotationDegrees == 0 && scaleJitter == 0 && translateFraction == 0
            && brightness == 0 && contrast == 0
    }

    /// One line for logs, e.g. "crop ±2 px, flip, rotate ±10°, brightness ±0.2", or "none".
    public var description: String {
        var parts: [String] = []
        if cropPadding != 0 { parts.append("crop ±\(cropPadding) px") }
        if horizontalFlip { parts.append("flip") }
        if rotationDegrees != 0 { parts.append("rotate ±\(rotationDegrees)°") }
        if scaleJitter != 0 { parts.append("scale ±\(scaleJitter)") }
        if translateFraction != 0 { parts.append("translate ±\(translateFraction)·size") }
        if brightness != 0 { parts.append("brightness ±\(brightness)") }
        if contrast != 0 { parts.append("contrast ±\(contrast)") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }

    /// Checks the ranges; a file or flag that names a bad value gets an error saying which and why.
    public func validate() throws(AugmentationError) {
        func check(_ ok: Bool, _ field: String, _ value: String, _ expected: String) throws(AugmentationError) {
            if !ok { throw AugmentationError.outOfRange(field: field, value: value, expected: expected) }
        }
        try check(cropPadding >= 0, "cropPadding", "\(cropPadding)", "0 or more pixels")
        try check(rotationDegrees >= 0 && rotationDegrees <= 180, "rotationDegrees", "\(rotationDegrees)", "0 to 180 degrees")
        try check(scaleJitter >= 0 && scaleJitter < 1, "scaleJitter", "\(scaleJitter)", "at least 0 and below 1, so the scale stays positive")
        try check(translateFraction >= 0 && translateFraction <= 1, "translateFraction", "\(translateFraction)", "0 to 1 (a fraction of the image size)")
        try check(brightness >= 0 && brightness.isFinite, "brightness", "\(brightness)", "0 or more")
        try check(contrast >= 0 && contrast.isFinite, "contrast", "\(contrast)", "0 or more")
    }

    /// The random changes for one image of `imageSize` × `imageSize` pixels. Every option takes its
    /// draws whether it is on or off, in a fixed order, so switching one on does not change what the
    /// others draw for the same generator.
    public func draw(imageSize: Int, using generator: inout RandomGenerator) -> AugmentationDraw {
        func symmetric(_ range: Float) -> Float { range * (2 * generator.nextFloat() - 1) }
        func factor(_ range: Float) -> Float {
            let low = max(0, 1 - range), high = 1 + range
            return low + (high - low) * generator.nextFloat()
        }
        let p = max(0, cropPadding)
        var draw = AugmentationDraw.identity
        draw.shiftX = generator.nextInt(below: 2 * p + 1) - p
        draw.shiftY = generator.nextInt(below: 2 * p + 1) - p
        let heads = generator.next() >> 63 == 1
        draw.flip = horizontalFlip && heads
        draw.rotationDegrees = symmetric(rotationDegrees)
        draw.scale = 1 + symmetric(scaleJitter)
        draw.translateX = symmetric(translateFraction * Float(imageSize))
        draw.translateY = symmetric(translateFraction * Float(imageSize))
        draw.brightness = factor(brightness)
        draw.contrast = factor(contrast)
        return draw
    }

    /// The generator for the image at `position` in a batch filled with `seed`: SplitMix64's
    /// finaliser (a bijection on 64 bits) applied to the position, XOR-ed into the seed, finalised
    /// again. Distinct positions under one seed therefore never share a generator, and neighbouring
    /// positions get unrelated streams (`RandomGenerator(seed:)` expands the result with SplitMix64).
    public static func generator(seed: UInt64, position: Int) -> RandomGenerator {
        func finalise(_ x: UInt64) -> UInt64 {
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return RandomGenerator(seed: finalise(seed ^ finalise(UInt64(truncatingIfNeeded: position) &+ 0x9E37_79B9_7F4A_7C15)))
    }

    private enum CodingKeys: String, CodingKey {
        case cropPadding, horizontalFlip, rotationDegrees, scaleJitter, translateFraction, brightness, contrast
    }

    /// A missing field means that option is off, so files written before an option existed still load.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(cropPadding: try c.decodeIfPresent(Int.self, forKey: .cropPadding) ?? 0,
                  horizontalFlip: try c.decodeIfPresent(Bool.self, forKey: .horizontalFlip) ?? false,
                  rotationDegrees: try c.decodeIfPresent(Float.self, forKey: .rotationDegrees) ?? 0,
                  scaleJitter: try c.decodeIfPresent(Float.self, forKey: .scaleJitter) ?? 0,
                  translateFraction: try c.decodeIfPresent(Float.self, forKey: .translateFraction) ?? 0,
                  brightness: try c.decodeIfPresent(Float.self, forKey: .brightness) ?? 0,
                  contrast: try c.decodeIfPresent(Float.self, forKey: .contrast) ?? 0)
    }
}

/// An augmentation setting outside the range its meaning allows.
public enum AugmentationError: Error, CustomStringConvertible, Equatable {
    case outOfRange(field: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .outOfRange(field, value, expected): return "augmentation \(field) is \(value); it must be \(expected)"
        }
    }
}
