import Foundation
import Images
import TestSupport
import Testing

/// Headless Chromium, the browser the report test opens pages in. CI installs it (Debian's
/// `chromium`); a machine without it skips the browser test, except under CI, where it must run.
enum Chromium {
    static let path = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let required = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Loads `page` headless and returns the DOM after its scripts ran, and every console message
    /// the page produced (Chromium logs them to stderr as `…:CONSOLE:…] "message", source: …`).
    static func load(_ page: String, profile: String, extra: [String] = []) throws -> (dom: String, console: [String]) {
        let result = try CLI.capture(URL(fileURLWithPath: path!),
                                     ["--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0",
                                      "--virtual-time-budget=5000"] + extra + ["--dump-dom", URL(fileURLWithPath: page).absoluteString])
        let console = result.errors.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return (result.output, console)
    }

    static func screenshot(_ page: String, to png: String, profile: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = ["--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=\(profile)", "--hide-scrollbars",
                             "--window-size=1400,3000", "--virtual-time-budget=5000", "--screenshot=\(png)", URL(fileURLWithPath: page).absoluteString]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

@Suite("akin report", .serialized)
struct ReportTests {
    /// Trains a tiny model with a log, then writes a report from a data folder.
    func makeReport(threshold: String = "0.9999") throws -> (root: String, report: String, result: CommandResult) {
        let root = try temporaryFolder()
        try makeDataset(at: root + "/data", perClass: 12)
        let train = try CLI.run(["train", root + "/data", "--out", root + "/m.safetensors", "--log", root + "/log.csv"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")
        let report = root + "/report"
        let result = try CLI.run(["report", "--model", root + "/m.safetensors", "--out", report, "--data", root + "/data",
                                  "--log", root + "/log.csv", "--sample", "30", "--grid-queries", "6", "-k", "5",
                                  "--threshold", threshold, "--tsne-iterations", "300"])
        return (root, report, result)
    }

    @Test func writesASelfContainedPageAndPNGFigures() throws {
        let (root, report, result) = try makeReport()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.errors.contains("t-SNE of 30 points"))
        let html = try String(contentsOfFile: report + "/index.html", encoding: .utf8)
        // Self-contained: every image is a data URI and nothing is fetched from elsewhere.
        #expect(!html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("@import") && !html.contains("url(http"))
        #expect(html.components(separatedBy: "<img src=\"").count == html.components(separatedBy: "<img src=\"data:image/png;base64,").count)
        for id in ["map-tsne", "map-pca", "retrieval-grid", "metrics", "metrics-per-class"] { #expect(html.contains("id=\"\(id)\""), "no \(id)") }
        // 30 points on each map; 6 queries of 5 results; the log's charts.
        #expect(html.components(separatedBy: "<circle cx=").count - 1 == 60)
        #expect(html.components(separatedBy: "<tr class=\"").count - 1 == 6)
        for title in ["loss", "fraction of active triplets", "mean distances", "learning rate"] { #expect(html.contains(">\(title)</text>")) }
        // Similarity 0.9999 is out of reach for most queries: they are marked.
        #expect(html.contains("<div class=\"no-match-label\">no match</div>"))
        for (name, minimumWidth) in [("map-tsne.png", 900), ("map-pca.png", 900), ("grid.png", 300)] {
            let image = try ImageDecoder.decodeFile(report + "/" + name, channels: 3)
            #expect(image.width >= minimumWidth, "\(name) is \(image.width) wide")
            #expect(Set(image.pixels).count > 20, "\(name) looks blank")
        }
    }

    @Test func fromAGalleryWithAQueryFolder() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 8)
        try makeDataset(at: root + "/queries", perClass: 2, seed: 9)
        let train = try CLI.run(["train", root + "/data", "--out", root + "/m.safetensors"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")
        let embed = try CLI.run(["embed", "--model", root + "/m.safetensors", "--out", root + "/g.akin", root + "/data"])
        #expect(embed.status == 0, "\(embed.errors)")
        let result = try CLI.run(["report", "--model", root + "/m.safetensors", "--out", root + "/r", "--gallery", root + "/g.akin",
                                  "--queries", root + "/queries", "--grid-queries", "4", "--tsne-iterations", "100"])
        #expect(result.status == 0, "\(result.errors)")
        let html = try String(contentsOfFile: root + "/r/index.html", encoding: .utf8)
        #expect(html.contains("The 6 images of \(root)/queries searching the 24 of \(root)/g.akin."))
        // Four query rows, each with ten results; no training log was given.
        #expect(html.components(separatedBy: "<tr class=\"match\">").count - 1 == 4)
        #expect(html.components(separatedBy: "<figure class=\"same\"").count + html.components(separatedBy: "<figure class=\"other\"").count - 2 == 40)
        #expect(html.contains("No training log given"))
        // Without a threshold nothing is marked.
        #expect(!html.contains("class=\"no-match-label\""))
    }

    /// A model trained with a class held out: the metrics come as `akin eval` computes them, all
    /// classes and apart the seen and unseen ones, and the per-class table says which were trained on.
    @Test func metricsSplitBySeenAndUnseenClasses() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 8)
        let train = try CLI.run(["train", root + "/data", "--out", root + "/m.safetensors", "--val-classes", "1"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")
        let eval = try CLI.run(["eval", "--model", root + "/m.safetensors", "--json", root + "/data"])
        #expect(eval.status == 0, "\(eval.errors)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(eval.output.utf8)) as? [String: Any])
        let result = try CLI.run(["report", "--model", root + "/m.safetensors", "--out", root + "/r", "--data", root + "/data",
                                  "--grid-queries", "2", "--tsne-iterations", "50"])
        #expect(result.status == 0, "\(result.errors)")
        let html = try String(contentsOfFile: root + "/r/index.html", encoding: .utf8)
        for (key, name, classes) in [("all", "all", 3), ("seen", "seen in training", 2), ("unseen", "not seen in training", 1)] {
            let part = try #require(reports[key] as? [String: Any], "akin eval --json has no \(key)")
            let precision = try #require(part["precision_at_1"] as? Double, "\(part.keys.sorted())")
            let queries = try #require(part["queries"] as? Int)
            #expect(html.contains("<tr><td>\(name) (\(classes))</td><td>\(queries)</td><td>\(String(format: "%.4f", precision))</td>"),
                    "\(name): \(queries) queries, P@1 \(precision) as akin eval has them")
        }
        #expect(html.contains("<th>trained on</th>"))
        #expect(html.components(separatedBy: "<td>yes</td>").count - 1 == 2 && html.components(separatedBy: "<td>no</td>").count - 1 == 1)
    }

    @Test func refusesBadInputWithClearErrors() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 4)
        let train = try CLI.run(["train", root + "/data", "--out", root + "/m.safetensors"] + smallTraining)
        #expect(train.status == 0, "\(train.errors)")
        let both = try CLI.run(["report", "--model", root + "/m.safetensors", "--out", root + "/r", "--data", root + "/data", "--gallery", "g"])
        #expect(both.status != 0 && both.errors.contains("exactly one of --gallery and --data"))
        try "step,loss\n1,abc\n".write(toFile: root + "/bad.csv", atomically: true, encoding: .utf8)
        let badLog = try CLI.run(["report", "--model", root + "/m.safetensors", "--out", root + "/r", "--data", root + "/data", "--log", root + "/bad.csv"])
        #expect(badLog.status != 0 && badLog.errors.contains("bad.csv, line 2") && badLog.errors.contains("akin train --log"))
        #expect(!FileManager.default.fileExists(atPath: root + "/r/index.html"))
    }

    @Test(.enabled(if: Chromium.path != nil || Chromium.required,
                   "chromium is not installed (apt-get install chromium): the report's browser check is skipped"))
    func opensInHeadlessChromiumWithoutConsoleErrors() throws {
        #expect(Chromium.path != nil, "CI must install chromium")
        guard Chromium.path != nil else { return }
        let (root, report, result) = try makeReport()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(result.status == 0, "\(result.errors)")
        let profile = root + "/chromium-profile"

        // The detector itself: a page with a script error must be caught.
        try "<!DOCTYPE html><html><body><script>throw new Error('deliberate')</script></body></html>".write(toFile: root + "/broken.html", atomically: true, encoding: .utf8)
        let broken = try Chromium.load(root + "/broken.html", profile: profile)
        #expect(broken.console.contains { $0.contains("deliberate") }, "console errors are not being captured: \(broken.console)")

        let loaded = try Chromium.load(report + "/index.html", profile: profile)
        #expect(loaded.console.isEmpty, "console messages: \(loaded.console)")
        // The page's script ran to its end (it marks the body), and the maps and grid are in the DOM.
        #expect(loaded.dom.contains("data-report-ready=\"36\""), "the page's script did not finish (36 items)")
        for id in ["map-tsne", "map-pca", "retrieval-grid"] { #expect(loaded.dom.contains("id=\"\(id)\""), "no \(id) in the DOM") }

        let screenshot = root + "/screenshot.png"
        #expect(try Chromium.screenshot(report + "/index.html", to: screenshot, profile: profile) == 0)
        let image = try ImageDecoder.decodeFile(screenshot, channels: 3)
        #expect(image.width == 1400)
        // The maps' class colours are on screen: tab10's blue and orange among the pixels.
        var colours = Set<Int>()
        for p in stride(from: 0, to: image.pixels.count, by: 3) {
            colours.insert(Int(image.pixels[p]) << 16 | Int(image.pixels[p + 1]) << 8 | Int(image.pixels[p + 2]))
        }
        #expect(colours.contains(0x1f77b4) && colours.contains(0xff7f0e), "the map's colours are not on the screenshot")
        if let keep = ProcessInfo.processInfo.environment["AKIN_KEEP_SCREENSHOT"] { try? FileManager.default.copyItem(atPath: screenshot, toPath: keep) }
    }
}
