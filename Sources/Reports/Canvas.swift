import Images

/// An RGB raster to draw the PNG figures on: rectangles, discs, scaled images and text.
struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    var image: Image { Image(width: width, height: height, channels: 3, pixels: pixels) }

    /// Blends `colour` into one pixel with opacity `alpha` in [0, 1]; outside the canvas does nothing.
    @inline(__always) mutating func blend(_ x: Int, _ y: Int, _ colour: (UInt8, UInt8, UInt8), _ alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let o = (y * width + x) * 3, a = min(alpha, 1)
        pixels[o] = UInt8((Double(pixels[o]) * (1 - a) + Double(colour.0) * a).rounded())
        pixels[o + 1] = UInt8((Double(pixels[o + 1]) * (1 - a) + Double(colour.1) * a).rounded())
        pixels[o + 2] = UInt8((Double(pixels[o + 2]) * (1 - a) + Double(colour.2) * a).rounded())
    }

    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ colour: (UInt8, UInt8, UInt8)) {
        for yy in max(0, y)..<min(height, y + h) { for xx in max(0, x)..<min(width, x + w) { blend(xx, yy, colour, 1) } }
    }

    /// Pales a rectangle towards white (results of a query that found no match).
    mutating func wash(x: Int, y: Int, width w: Int, height h: Int, opacity: Double) {
        for yy in max(0, y)..<min(height, y + h) { for xx in max(0, x)..<min(width, x + w) { blend(xx, yy, (255, 255, 255), opacity) } }
    }

    /// A rectangle's outline, `thickness` pixels wide, inside the rectangle.
    mutating func frame(x: Int, y: Int, width w: Int, height h: Int, thickness t: Int, _ colour: (UInt8, UInt8, UInt8)) {
        fill(x: x, y: y, width: w, height: t, colour)
        fill(x: x, y: y + h - t, width: w, height: t, colour)
        fill(x: x, y: y, width: t, height: h, colour)
        fill(x: x + w - t, y: y, width: t, height: h, colour)
    }

    /// An antialiased disc (coverage from the distance to the edge).
    mutating func disc(cx: Double, cy: Double, radius r: Double, _ colour: (UInt8, UInt8, UInt8), opacity: Double = 1) {
        for y in Int((cy - r - 1).rounded(.down))...Int((cy + r + 1).rounded(.up)) {
            for x in Int((cx - r - 1).rounded(.down))...Int((cx + r + 1).rounded(.up)) {
                let d = ((Double(x) + 0.5 - cx) * (Double(x) + 0.5 - cx) + (Double(y) + 0.5 - cy) * (Double(y) + 0.5 - cy)).squareRoot()
                blend(x, y, colour, opacity * min(max(r + 0.5 - d, 0), 1))
            }
        }
    }

    /// Draws `picture` (gray or RGB) scaled to size×size by nearest neighbour, keeping pixels crisp.
    mutating func draw(_ picture: Image, x: Int, y: Int, size: Int) {
        let c = picture.channels
        for yy in 0..<size {
            let sy = min(picture.height - 1, yy * picture.height / size)
            for xx in 0..<size {
                let sx = min(picture.width - 1, xx * picture.width / size)
                let o = (sy * picture.width + sx) * c
                let colour = c >= 3 ? (picture.pixels[o], picture.pixels[o + 1], picture.pixels[o + 2]) : (picture.pixels[o], picture.pixels[o], picture.pixels[o])
                blend(x + xx, y + yy, colour, 1)
            }
        }
    }
}
