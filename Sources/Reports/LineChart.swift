import Foundation

/// A small SVG line chart: one or more series over training steps, axes with round tick values.
struct LineChart {
    struct Series {
        var name: String
        var x: [Double]
        var y: [Double]
        var colour: String
    }

    var title: String
    var series: [Series]
    var width = 440.0, height = 230.0
    var logarithmic = false

    func svg() -> String {
        let left = 56.0, right = 12.0, top = 26.0, bottom = 34.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = series.flatMap(\.x), ys = series.flatMap(\.y).filter(\.isFinite)
        var out = "<svg class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(Markup.escape(title))\">"
        out += "<text x=\"\(left)\" y=\"16\" class=\"chart-title\">\(Markup.escape(title))</text>"
        guard let minX = xs.min(), let maxX = xs.max(), var minY = ys.min(), var maxY = ys.max() else {
            return out + "<text x=\"\(left)\" y=\"\(top + 20)\">no data</text></svg>"
        }
        if minY == maxY { minY -= 0.5; maxY += 0.5 }
        let pad = (maxY - minY) * 0.05
        minY -= pad; maxY += pad
        let spanX = max(maxX - minX, 1)
        func px(_ x: Double) -> Double { left + (x - minX) / spanX * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - minY) / (maxY - minY)) * plotH }
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" class=\"plot-area\"/>"
        for tick in Self.ticks(minY, maxY) {
            let y = Markup.coordinate(py(tick))
            out += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(y)\" y2=\"\(y)\" class=\"grid-line\"/>"
            out += "<text x=\"\(left - 4)\" y=\"\(y)\" class=\"tick\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Self.label(tick))</text>"
        }
        for tick in Self.ticks(minX, maxX) {
            let x = Markup.coordinate(px(tick))
            out += "<text x=\"\(x)\" y=\"\(top + plotH + 14)\" class=\"tick\" text-anchor=\"middle\">\(Self.label(tick))</text>"
        }
        out += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 4)\" class=\"axis-label\" text-anchor=\"middle\">step</text>"
        for s in series {
            let stride = max(1, s.x.count / 1500)
            var points: [String] = []
            for i in Swift.stride(from: 0, to: s.x.count, by: stride) where s.y[i].isFinite {
                points.append(Markup.coordinate(px(s.x[i])) + "," + Markup.coordinate(py(s.y[i])))
            }
            if s.x.count == 1 {
                out += "<circle cx=\"\(Markup.coordinate(px(s.x[0])))\" cy=\"\(Markup.coordinate(py(s.y[0])))\" r=\"3\" fill=\"\(s.colour)\"/>"
            } else {
                out += "<polyline fill=\"none\" stroke=\"\(s.colour)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"><title>\(Markup.escape(s.name))</title></polyline>"
            }
        }
        if series.count > 1 {
            var x = left + plotW
            for s in series.reversed() {
                x -= Double(s.name.count) * 6.5 + 22
                out += "<rect x=\"\(Markup.coordinate(x))\" y=\"8\" width=\"10\" height=\"10\" fill=\"\(s.colour)\"/>"
                out += "<text x=\"\(Markup.coordinate(x + 13))\" y=\"17\" class=\"tick\">\(Markup.escape(s.name))</text>"
            }
        }
        return out + "</svg>"
    }

    /// About five round values (1, 2 or 5 times a power of ten) spanning [low, high].
    static func ticks(_ low: Double, _ high: Double) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var t = ceil(low / step) * step
        while t <= high + step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return ticks
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1000 { return String(format: "%.0f", v) }
        if a >= 1 { return String(format: "%g", (v * 100).rounded() / 100) }
        if a >= 0.001 { return String(format: "%g", Double(String(format: "%.4f", v))!) }
        return String(format: "%.0e", v)
    }
}
