/// The random values one image's augmentation drew, kept apart from the code that applies them so
/// the fast path and the tests' plain reference can be fed the same draw.
///
/// With S the image size, c = (S − 1) / 2 the centre (pixel indices), pixels x in [0, 1]:
/// 1. crop:      a(x, y) = source(x + shiftX, y + shiftY), 0 (black) where that falls outside;
/// 2. flip:      b(x, y) = a(S − 1 − x, y) when `flip`, else a;
/// 3. affine:    g(p) = b(c + M⁻¹(p − c − t)), M = scale · [[cos θ, sin θ], [−sin θ, cos θ]], t the
///               translation; bilinear, a tap outside the image reads 0. Positive θ turns the picture
///               anticlockwise as seen on screen (y points down);
/// 4. brightness: x ← min(1, brightness · x);
/// 5. contrast:   x ← clamp(contrast · x + (1 − contrast) · m, 0, 1), m the mean gray value of the
///               image after step 4 (gray = 0.2989 R + 0.587 G + 0.114 B, torchvision's weights;
///               the pixel itself for one channel);
/// then each channel is standardised with the preprocessing mean and std.
public struct AugmentationDraw: Equatable, Sendable {
    public var shiftX: Int
    public var shiftY: Int
    public var flip: Bool
    public var rotationDegrees: Float
    public var scale: Float
    /// Pixels.
    public var translateX: Float
    public var translateY: Float
    /// Multiplies the pixels.
    public var brightness: Float
    /// Blends with the mean gray value.
    public var contrast: Float

    public init(shiftX: Int = 0, shiftY: Int = 0, flip: Bool = false, rotationDegrees: Float = 0, scale: Float = 1,
                translateX: Float = 0, translateY: Float = 0, brightness: Float = 1, contrast: Float = 1) {
        self.shiftX = shiftX
        self.shiftY = shiftY
        self.flip = flip
        self.rotationDegrees = rotationDegrees
        self.scale = scale
        self.translateX = translateX
        self.translateY = translateY
        self.brightness = brightness
        self.contrast = contrast
    }

    public static let identity = AugmentationDraw()

    /// Whether step 3 has anything to do; without it the geometry is an exact integer copy.
    public var hasAffine: Bool { rotationDegrees != 0 || scale != 1 || translateX != 0 || translateY != 0 }
}
