import Evaluation
import Foundation

/// Retrieval metrics as HTML tables: the summary, then P@1 and MAP@R class by class.
struct MetricsTable {
    var report: RetrievalReport
    /// The report's class order, so each class keeps its map colour.
    var classNames: [String]

    func html() -> String {
        func f(_ v: Double) -> String { String(format: "%.4f", v) }
        var out = "<table class=\"metrics\" id=\"metrics\"><thead><tr><th>queries</th><th>P@1</th><th>R@10</th><th>R-Precision</th><th>MAP@R</th><th>NMI</th></tr></thead>"
        out += "<tbody><tr><td>\(report.queries)</td><td>\(f(report.precisionAt1))</td><td>\(f(report.recallAt10))</td><td>\(f(report.rPrecision))</td><td>\(f(report.mapAtR))</td><td>\(f(report.nmi))</td></tr></tbody></table>"
        guard !report.perClass.isEmpty else { return out }
        out += "<table class=\"metrics per-class\" id=\"metrics-per-class\"><thead><tr><th>class</th><th>queries</th><th>P@1</th><th>MAP@R</th><th></th></tr></thead><tbody>"
        for c in report.perClass {
            let i = classNames.firstIndex(of: c.className) ?? 0
            let bar = Int((c.mapAtR * 120).rounded())
            out += "<tr><td><span class=\"swatch\" style=\"background:\(Palette.hex(i))\"></span>\(Markup.escape(c.className))</td><td>\(c.queries)</td><td>\(f(c.precisionAt1))</td><td>\(f(c.mapAtR))</td>"
            out += "<td><svg width=\"122\" height=\"10\"><rect width=\"\(bar)\" height=\"10\" fill=\"\(Palette.hex(i))\"/></svg></td></tr>"
        }
        return out + "</tbody></table>"
    }
}
