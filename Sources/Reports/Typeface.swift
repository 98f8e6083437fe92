import CFreeType
import Foundation

/// Text for the PNG figures, rendered by FreeType from a font file Debian installs
/// (fonts-dejavu-core). Without the font the figures are drawn without their text.
final class Typeface {
    static let searchPaths = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ]

    private var library: FT_Library?
    private var face: FT_Face?

    init?(path: String? = nil) {
        guard let file = path ?? Self.searchPaths.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
        guard FT_Init_FreeType(&library) == 0 else { return nil }
        guard FT_New_Face(library, file, 0, &face) == 0 else {
            FT_Done_FreeType(library)
            return nil
        }
    }

    deinit {
        if let face { FT_Done_Face(face) }
        if let library { FT_Done_FreeType(library) }
    }

    /// Draws `text` with its baseline at y, starting at x; returns the x after the last glyph.
    @discardableResult
    func draw(_ text: String, into canvas: inout Canvas, x: Int, y: Int, pixelSize: Int, colour: (UInt8, UInt8, UInt8)) -> Int {
        guard let face else { return x }
        FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixelSize))
        var pen = x
        for scalar in text.unicodeScalars {
            guard FT_Load_Char(face, FT_ULong(scalar.value), FT_Int32(FT_LOAD_RENDER)) == 0, let glyph = face.pointee.glyph else { continue }
            let bitmap = glyph.pointee.bitmap
            let left = pen + Int(glyph.pointee.bitmap_left), top = y - Int(glyph.pointee.bitmap_top)
            if let buffer = bitmap.buffer {
                for row in 0..<Int(bitmap.rows) {
                    for column in 0..<Int(bitmap.width) {
                        let coverage = buffer[row * Int(bitmap.pitch) + column]
                        if coverage > 0 { canvas.blend(left + column, top + row, colour, Double(coverage) / 255) }
                    }
                }
            }
            pen += Int(glyph.pointee.advance.x >> 6)
        }
        return pen
    }

    /// The width `text` would take.
    func width(_ text: String, pixelSize: Int) -> Int {
        guard let face else { return 0 }
        FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixelSize))
        var total = 0
        for scalar in text.unicodeScalars where FT_Load_Char(face, FT_ULong(scalar.value), FT_Int32(FT_LOAD_DEFAULT)) == 0 {
            total += Int(face.pointee.glyph.pointee.advance.x >> 6)
        }
        return total
    }
}
