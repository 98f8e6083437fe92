import Evaluation
import Foundation

/// Retrieval metrics as HTML tables: the summary (all classes, then the classes seen in training and
/// the others when the model lists its training classes), then P@1 and MAP@R class by class.
struct MetricsTable {
    var report: RetrievalReport
    /// The report's class order, so each class keeps its map colour.
    var classNames: [String]
    var seen: RetrievalReport? = nil
    var unseen: RetrievalReport? = nil
    var trainingClasses: Set<String>? = nil

    func html() -> String {
        func f(_ v: Double) -> String { String(format: "%.4f", v) }
        // The split only when the data hold both kinds: otherwise one part is the whole.
        let split = seen != nil && unseen != nil
        let parts = split ? [("all", report), ("seen in training", seen!), ("not seen in training", unseen!)] : [("all", report)]
        var out = "<table class=\"metrics\" id=\"metrics\"><thead><tr>\(split ? "<th>classes</th>" : "")<th>queries</th><th>P@1</th><th>R@10</th><th>R-Precision</th><th>MAP@R</th><th>NMI</th></tr></thead><tbody>"
        for (name, r) in parts {
            let label = split ? "<td>\(name) (\(r.perClass.count))</td>" : ""
            out += "<tr>\(label)<td>\(r.queries)</td><td>\(f(r.precisionAt1))</td><td>\(f(r.recallAt10))</td><td>\(f(r.rPrecision))</td><td>\(f(r.mapAtR))</td><td>\(f(r.nmi))</td></tr>"
        }
        out += "</tbody></table>"
        if split {
            out += "<p class=\"note\">Seen and not seen: each part's queries search among its own classes only.</p>"
        }
        guard !report.perClass.isEmpty else { return out }
        let trained = trainingClasses.map { _ in "<th>trained on</th>" } ?? ""
        out += "<table class=\"metrics per-class\" id=\"metrics-per-class\"><thead><tr><th>class</th><th>queries</th><th>P@1</th><th>MAP@R</th><th></th>\(trained)</tr></thead><tbody>"
        for c in report.perClass {
            let i = classNames.firstIndex(of: c.className) ?? 0
            let bar = Int((c.mapAtR * 120).rounded())
            out += "<tr><td><span class=\"swatch\" style=\"background:\(Palette.hex(i))\"></span>\(Markup.escape(c.className))</td><td>\(c.queries)</td><td>\(f(c.precisionAt1))</td><td>\(f(c.mapAtR))</td>"
            out += "<td><svg width=\"122\" height=\"10\"><rect width=\"\(bar)\" height=\"10\" fill=\"\(Palette.hex(i))\"/></svg></td>"
            if let trainingClasses { out += "<td>\(trainingClasses.contains(c.className) ? "yes" : "no")</td>" }
            out += "</tr>"
        }
        return out + "</tbody></table>"
    }
}
