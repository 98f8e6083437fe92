import Foundation
import Images

/// The map and the grid as PNG images (for papers and issues), drawn on a `Canvas` and encoded by libpng.
public enum PNGFigures {
    /// A scatter of one map, coloured by class, with its title and a legend.
    public static func map(_ map: EmbeddingMap, classNames: [String], size: Int = 900) -> Image {
        let legendWidth = 240, titleHeight = 36
        var canvas = Canvas(width: size + legendWidth, height: size + titleHeight)
        let font = Typeface()
        font?.draw(map.title, into: &canvas, x: 12, y: 25, pixelSize: 20, colour: (30, 30, 30))
        canvas.frame(x: 0, y: titleHeight, width: size, height: size, thickness: 1, (200, 200, 200))
        let placed = ScatterPlot.layout(map.points, size: Double(size), margin: 14)
        let radius = map.items.count > 5000 ? 1.6 : map.items.count > 1500 ? 2.2 : 3.2
        for p in map.items.indices {
            canvas.disc(cx: placed[2 * p], cy: placed[2 * p + 1] + Double(titleHeight), radius: radius, Palette.rgb(map.labels[p]), opacity: 0.85)
        }
        var y = titleHeight + 24
        for (label, name) in classNames.enumerated() {
            canvas.fill(x: size + 16, y: y - 13, width: 14, height: 14, Palette.rgb(label))
            font?.draw(name, into: &canvas, x: size + 38, y: y, pixelSize: 15, colour: (40, 40, 40))
            y += 24
        }
        return canvas.image
    }

    /// Each query (blue frame) followed by its results framed green (same class) or red, with the
    /// similarity under each; a query under the threshold gets "no match".
    public static func grid(_ rows: [RetrievalRow], items: [ReportItem], cell: Int = 56) -> Image {
        let frame = 3, gap = 6, caption = 16, labelWidth = 110
        let columns = 1 + (rows.map(\.results.count).max() ?? 0)
        let step = cell + 2 * frame + gap, rowHeight = cell + 2 * frame + caption + gap
        var canvas = Canvas(width: labelWidth + columns * step + gap, height: max(1, rows.count) * rowHeight + gap)
        let font = Typeface()
        for (r, row) in rows.enumerated() {
            let top = gap + r * rowHeight
            font?.draw(items[row.query].className, into: &canvas, x: 6, y: top + 20, pixelSize: 13, colour: (30, 30, 30))
            if !row.match { font?.draw("no match", into: &canvas, x: 6, y: top + 40, pixelSize: 13, colour: Palette.mismatch) }
            var x = labelWidth
            drawCell(&canvas, items[row.query], x: x, y: top, cell: cell, frame: frame, colour: (0x1f, 0x77, 0xb4))
            x += step
            for result in row.results {
                drawCell(&canvas, items[result.item], x: x, y: top, cell: cell, frame: frame, colour: result.sameClass ? Palette.match : Palette.mismatch,
                         faded: !row.match)
                let text = String(format: "%.3f", result.similarity)
                let w = font?.width(text, pixelSize: 11) ?? 0
                font?.draw(text, into: &canvas, x: x + (cell + 2 * frame - w) / 2, y: top + cell + 2 * frame + 12, pixelSize: 11, colour: (60, 60, 60))
                x += step
            }
        }
        return canvas.image
    }

    private static func drawCell(_ canvas: inout Canvas, _ item: ReportItem, x: Int, y: Int, cell: Int, frame: Int,
                                 colour: (UInt8, UInt8, UInt8), faded: Bool = false) {
        canvas.fill(x: x, y: y, width: cell + 2 * frame, height: cell + 2 * frame, colour)
        if let picture = item.thumbnail {
            canvas.draw(picture, x: x + frame, y: y + frame, size: cell)
        } else {
            canvas.fill(x: x + frame, y: y + frame, width: cell, height: cell, (230, 230, 230))
        }
        if faded { canvas.wash(x: x, y: y, width: cell + 2 * frame, height: cell + 2 * frame, opacity: 0.55) }
    }
}
