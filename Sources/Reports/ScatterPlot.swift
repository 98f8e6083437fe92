import Foundation

/// An embedding map as SVG: one circle per point coloured by class, a legend (click a class to
/// hide it), and data attributes the page's script reads to show the point's thumbnail, path and
/// class on hover.
struct ScatterPlot {
    var map: EmbeddingMap
    var classNames: [String]
    var size = 560.0
    var legendWidth = 170.0

    /// Map coordinates scaled into [margin, size − margin], same scale on both axes.
    static func layout(_ points: [Double], size: Double, margin: Double) -> [Double] {
        guard !points.isEmpty else { return [] }
        var minX = Double.infinity, maxX = -Double.infinity, minY = Double.infinity, maxY = -Double.infinity
        for i in stride(from: 0, to: points.count, by: 2) {
            minX = min(minX, points[i]); maxX = max(maxX, points[i])
            minY = min(minY, points[i + 1]); maxY = max(maxY, points[i + 1])
        }
        let span = max(maxX - minX, maxY - minY, 1e-12), scale = (size - 2 * margin) / span
        let offsetX = margin + (size - 2 * margin - (maxX - minX) * scale) / 2
        let offsetY = margin + (size - 2 * margin - (maxY - minY) * scale) / 2
        var out = [Double](repeating: 0, count: points.count)
        for i in stride(from: 0, to: points.count, by: 2) {
            out[i] = offsetX + (points[i] - minX) * scale
            out[i + 1] = size - (offsetY + (points[i + 1] - minY) * scale)  // y up, as in a plot
        }
        return out
    }

    func svg() -> String {
        let placed = Self.layout(map.points, size: size, margin: 12)
        let total = size + legendWidth
        var out = "<svg class=\"map\" id=\"map-\(map.id)\" data-map=\"\(map.id)\" viewBox=\"0 0 \(Int(total)) \(Int(size))\" width=\"\(Int(total))\" height=\"\(Int(size))\" role=\"img\" aria-label=\"\(Markup.escape(map.title))\">"
        out += "<rect x=\"0\" y=\"0\" width=\"\(Int(size))\" height=\"\(Int(size))\" class=\"plot-area\"/>"
        // Grouped by class, so hiding a class is one attribute on its group.
        for label in classNames.indices {
            out += "<g class=\"cls\" data-class=\"\(label)\" fill=\"\(Palette.hex(label))\">"
            for p in map.labels.indices where map.labels[p] == label {
                out += "<circle cx=\"\(Markup.coordinate(placed[2 * p]))\" cy=\"\(Markup.coordinate(placed[2 * p + 1]))\" r=\"3\" data-item=\"\(map.items[p])\"/>"
            }
            out += "</g>"
        }
        var y = 18.0
        for (label, name) in classNames.enumerated() {
            let count = map.labels.filter { $0 == label }.count
            out += "<g class=\"legend-entry\" data-class=\"\(label)\"><rect x=\"\(Int(size) + 14)\" y=\"\(Int(y) - 10)\" width=\"12\" height=\"12\" fill=\"\(Palette.hex(label))\"/>"
            out += "<text x=\"\(Int(size) + 32)\" y=\"\(Int(y))\" class=\"legend\">\(Markup.escape(name)) (\(count))</text></g>"
            y += 18
        }
        return out + "</svg>"
    }
}
