/// The retrieval grid as HTML: one row per query, its picture, then its results framed green
/// (same class) or red, each with its similarity; a query under the threshold is marked "no match".
struct RetrievalGridHTML {
    var rows: [RetrievalRow]
    var items: [ReportItem]
    var thumbnails: [String?]
    var threshold: Float?

    func html() -> String {
        var out = "<table class=\"grid\" id=\"retrieval-grid\"><tbody>"
        for row in rows {
            let query = items[row.query]
            out += "<tr class=\"\(row.match ? "match" : "no-match")\"><th class=\"query\">"
            out += cell(row.query, frame: "query", caption: Markup.escape(query.className))
            if !row.match { out += "<div class=\"no-match-label\">no match</div>" }
            out += "</th>"
            for result in row.results {
                let similarity = String(format: "%.3f", result.similarity)
                out += "<td>" + cell(result.item, frame: result.sameClass ? "same" : "other", caption: similarity) + "</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table>"
    }

    private func cell(_ item: Int, frame: String, caption: String) -> String {
        let entry = items[item]
        let tip = Markup.escape("\(entry.className) — \(entry.path)")
        let picture = thumbnails[item].map { "<img src=\"\($0)\" alt=\"\(Markup.escape(entry.className))\">" } ?? "<div class=\"missing\">?</div>"
        return "<figure class=\"\(frame)\" title=\"\(tip)\">\(picture)<figcaption>\(caption)</figcaption></figure>"
    }
}
