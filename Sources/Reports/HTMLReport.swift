import Foundation

/// The report as one self-contained HTML page: styles, script, charts, maps and thumbnails are
/// all inline (thumbnails as data URIs), so it opens anywhere without network access.
public enum HTMLReport {
    public static func page(_ content: ReportContent) -> String {
        let thumbnails = content.items.map { $0.thumbnail.flatMap(Markup.dataURI) }
        var body = "<header><h1>\(Markup.escape(content.title))</h1><p class=\"subtitle\">\(Markup.escape(content.subtitle))</p></header>"

        body += "<section id=\"training\"><h2>Training</h2>"
        if let log = content.trainingLog, !log.steps.isEmpty {
            body += "<div class=\"charts\">" + charts(log).map { $0.svg() }.joined() + "</div>"
        } else {
            body += "<p class=\"note\">No training log given (<code>--log</code>, the file written by <code>akin train --log</code>).</p>"
        }
        body += "</section>"

        body += "<section id=\"retrieval-metrics\"><h2>Retrieval metrics</h2>"
        if let metrics = content.metrics {
            let table = MetricsTable(report: metrics, classNames: content.classNames, seen: content.seenMetrics,
                                     unseen: content.unseenMetrics, trainingClasses: content.trainingClasses)
            body += "<p class=\"note\">\(Markup.escape(content.metricsCaption))</p>" + table.html()
        } else {
            body += "<p class=\"note\">Not computed.</p>"
        }
        body += "</section>"

        body += "<section id=\"maps\"><h2>Embedding maps</h2><p class=\"note\">Hover a point to see its image; click a class in the legend to hide or show it.</p>"
        for map in content.maps {
            body += "<figure class=\"map-figure\"><figcaption><strong>\(Markup.escape(map.title))</strong> — \(Markup.escape(map.caption))</figcaption>"
            body += ScatterPlot(map: map, classNames: content.classNames).svg() + "</figure>"
        }
        body += "</section>"

        body += "<section id=\"retrieval\"><h2>Retrieval</h2><p class=\"note\">Each query, then its nearest images with their cosine similarity; green: same class, red: another class"
        if let threshold = content.threshold { body += String(format: "; \"no match\": the best similarity is below %.3f", threshold) }
        body += ".</p>" + RetrievalGridHTML(rows: content.grid, items: content.items, thumbnails: thumbnails, threshold: content.threshold).html() + "</section>"

        // Hover data for the maps: each item's path, class and thumbnail, once.
        let hover = content.items.indices.map { i in
            "[\(Markup.jsonString(content.items[i].path)),\(Markup.jsonString(content.items[i].className)),\(Markup.jsonString(thumbnails[i] ?? ""))]"
        }.joined(separator: ",\n")
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Markup.escape(content.title))</title>
            <style>\(style)</style></head>
            <body>\(body)
            <div id="tip" hidden><img alt=""><div class="tip-class"></div><div class="tip-path"></div></div>
            <script>const ITEMS = [\(hover)];
            \(script)</script>
            </body></html>
            """
    }

    static func charts(_ log: TrainingLogData) -> [LineChart] {
        let steps = log.steps.map(Double.init)
        var charts = [
            LineChart(title: "loss", series: [.init(name: "loss", x: steps, y: log.loss, colour: Palette.hex(0))]),
            LineChart(title: "fraction of active triplets", series: [.init(name: "active", x: steps, y: log.activeFraction, colour: Palette.hex(1))]),
            LineChart(title: "mean distances", series: [
                .init(name: "D(a,p)", x: steps, y: log.meanPositiveDistance, colour: Palette.hex(2)),
                .init(name: "D(a,n)", x: steps, y: log.meanNegativeDistance, colour: Palette.hex(3)),
            ]),
            LineChart(title: "learning rate", series: [.init(name: "lr", x: steps, y: log.learningRate, colour: Palette.hex(4))]),
        ]
        if !log.validationSteps.isEmpty {
            let v = log.validationSteps.map(Double.init)
            charts.append(LineChart(title: "validation", series: [
                .init(name: "P@1", x: v, y: log.validationPrecisionAt1, colour: Palette.hex(5)),
                .init(name: "MAP@R", x: v, y: log.validationMAPAtR, colour: Palette.hex(6)),
            ]))
        }
        return charts
    }

    static let style = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fff}
        h1{font-size:22px;margin:0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
        .subtitle,.note{color:#555;margin:4px 0 8px}
        .charts{display:flex;flex-wrap:wrap;gap:12px}
        .chart-title{font-weight:600;font-size:13px}.tick,.legend{font-size:11px;fill:#444}.axis-label{font-size:11px;fill:#666}
        .plot-area{fill:#fafafa;stroke:#ccc}.grid-line{stroke:#e6e6e6}
        table.metrics{border-collapse:collapse;margin:8px 0 16px}table.metrics td,table.metrics th{border:1px solid #ddd;padding:3px 10px;text-align:right}
        table.metrics td:first-child{text-align:left}.swatch{display:inline-block;width:10px;height:10px;margin-right:6px}
        .map-figure{display:inline-block;margin:0 24px 16px 0;vertical-align:top}.map-figure figcaption{margin-bottom:4px}
        svg.map circle{stroke:#fff;stroke-width:.4}svg.map circle:hover{stroke:#000;stroke-width:1.5}
        .legend-entry{cursor:pointer}.legend-entry.off{opacity:.35}g.cls.off{display:none}
        table.grid{border-collapse:separate;border-spacing:4px}table.grid th,table.grid td{vertical-align:top;padding:0}
        table.grid figure{margin:0;border:3px solid;padding:1px;text-align:center;font-size:11px;width:60px}
        table.grid img{width:56px;height:56px;image-rendering:pixelated;display:block;margin:auto}
        figure.query{border-color:#1f77b4}figure.same{border-color:#2ca02c}figure.other{border-color:#d62728}
        tr.no-match td{opacity:.45}.no-match-label{color:#d62728;font-weight:700;font-size:12px;text-align:center}
        .missing{width:56px;height:56px;background:#eee;line-height:56px}
        #tip{position:fixed;pointer-events:none;background:#fff;border:1px solid #888;padding:6px;font-size:12px;box-shadow:0 2px 6px rgba(0,0,0,.25);max-width:320px}
        #tip img{width:84px;height:84px;image-rendering:pixelated;display:block}.tip-class{font-weight:600}.tip-path{color:#555;word-break:break-all}
        """

    static let script = """
        (function () {
          const tip = document.getElementById('tip');
          const tipImage = tip.querySelector('img');
          document.querySelectorAll('svg.map').forEach(function (svg) {
            svg.addEventListener('mouseover', function (event) {
              const item = event.target.getAttribute && event.target.getAttribute('data-item');
              if (item === null || item === undefined) return;
              const entry = ITEMS[Number(item)];
              if (entry[2]) { tipImage.src = entry[2]; tipImage.hidden = false; } else { tipImage.hidden = true; }
              tip.querySelector('.tip-class').textContent = entry[1];
              tip.querySelector('.tip-path').textContent = entry[0];
              tip.hidden = false;
            });
            svg.addEventListener('mousemove', function (event) {
              tip.style.left = (event.clientX + 14) + 'px';
              tip.style.top = (event.clientY + 14) + 'px';
            });
            svg.addEventListener('mouseout', function (event) {
              if (event.target.tagName === 'circle') tip.hidden = true;
            });
            svg.querySelectorAll('.legend-entry').forEach(function (entry) {
              entry.addEventListener('click', function () {
                const group = svg.querySelector('g.cls[data-class="' + entry.getAttribute('data-class') + '"]');
                entry.classList.toggle('off');
                group.classList.toggle('off');
              });
            });
          });
          document.body.setAttribute('data-report-ready', String(ITEMS.length));
        })();
        """
}
