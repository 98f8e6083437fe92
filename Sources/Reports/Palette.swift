/// Class colours: matplotlib's tab10 for the first ten classes (what notebook plots use), then
/// evenly spaced hues.
public enum Palette {
    static let tab10: [(UInt8, UInt8, UInt8)] = [
        (0x1f, 0x77, 0xb4), (0xff, 0x7f, 0x0e), (0x2c, 0xa0, 0x2c), (0xd6, 0x27, 0x28), (0x94, 0x67, 0xbd),
        (0x8c, 0x56, 0x4b), (0xe3, 0x77, 0xc2), (0x7f, 0x7f, 0x7f), (0xbc, 0xbd, 0x22), (0x17, 0xbe, 0xcf),
    ]

    public static func rgb(_ index: Int) -> (UInt8, UInt8, UInt8) {
        if index < tab10.count { return tab10[index] }
        let hue = Double(index - tab10.count) * 0.618_033_988_75
        return hsv(hue - hue.rounded(.down), 0.65, 0.85)
    }

    public static func hex(_ index: Int) -> String {
        let (r, g, b) = rgb(index)
        return "#" + [r, g, b].map { String($0, radix: 16).zeroPadded2 }.joined()
    }

    private static func hsv(_ h: Double, _ s: Double, _ v: Double) -> (UInt8, UInt8, UInt8) {
        let i = Int(h * 6) % 6, f = h * 6 - Double(Int(h * 6))
        let p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s)
        let (r, g, b): (Double, Double, Double) = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
        return (UInt8(r * 255), UInt8(g * 255), UInt8(b * 255))
    }

    public static let match: (UInt8, UInt8, UInt8) = (0x2c, 0xa0, 0x2c)
    public static let mismatch: (UInt8, UInt8, UInt8) = (0xd6, 0x27, 0x28)
}

extension String {
    var zeroPadded2: String { count >= 2 ? self : String(repeating: "0", count: 2 - count) + self }
}
