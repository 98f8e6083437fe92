import Foundation
import Images
import XCTest
@testable import Reports

final class TrainingLogTests: XCTestCase {
    func file(_ text: String, _ ext: String) throws -> String {
        let path = NSTemporaryDirectory() + "akin-log-\(UUID().uuidString).\(ext)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testReadsTheCSVThatTrainWrites() throws {
        let path = try file("""
            step,loss,active_fraction,mean_positive_distance,mean_negative_distance,learning_rate,val_precision_at_1,val_map_at_r
            1,0.2,0.9,0.5,0.6,0.001,,
            2,0.1,0.5,0.4,0.8,0.002,0.75,0.5

            """, "csv")
        let log = try TrainingLogData.read(from: path)
        XCTAssertEqual(log.steps, [1, 2])
        XCTAssertEqual(log.loss, [0.2, 0.1])
        XCTAssertEqual(log.meanNegativeDistance, [0.6, 0.8])
        XCTAssertEqual(log.learningRate, [0.001, 0.002])
        XCTAssertEqual(log.validationSteps, [2])
        XCTAssertEqual(log.validationMAPAtR, [0.5])
    }

    func testReadsJSONLines() throws {
        let path = try file("""
            {"step":1,"loss":0.3,"active_fraction":1,"mean_positive_distance":0.1,"mean_negative_distance":0.2,"learning_rate":0.01}
            {"step":2,"loss":0.2,"active_fraction":0.5,"mean_positive_distance":0.1,"mean_negative_distance":0.3,"learning_rate":0.01,"val_precision_at_1":0.9,"val_map_at_r":0.7}

            """, "jsonl")
        let log = try TrainingLogData.read(from: path)
        XCTAssertEqual(log.steps, [1, 2])
        XCTAssertEqual(log.activeFraction, [1, 0.5])
        XCTAssertEqual(log.validationPrecisionAt1, [0.9])
    }

    func testBadLogsNameTheLineAndTheReason() throws {
        let missing = try file("step,loss\n1,0.5\n", "csv")
        XCTAssertThrowsError(try TrainingLogData.read(from: missing)) {
            XCTAssertEqual($0 as? ReportError, .badLog(path: missing, line: 2, reason: "no active_fraction value"))
        }
        let ragged = try file("step,loss\n1\n", "csv")
        XCTAssertThrowsError(try TrainingLogData.read(from: ragged)) {
            XCTAssertEqual($0 as? ReportError, .badLog(path: ragged, line: 2, reason: "1 fields, the header has 2"))
        }
        XCTAssertThrowsError(try TrainingLogData.read(from: "/nonexistent/log.csv")) {
            guard case .unreadableLog(path: "/nonexistent/log.csv", reason: _)? = $0 as? ReportError else { return XCTFail("\($0)") }
        }
    }
}

final class DrawingTests: XCTestCase {
    func testTicksAreRoundAndCoverTheRange() {
        let unit = LineChart.ticks(0, 1)
        XCTAssertEqual(unit.count, 6)
        for (tick, expected) in zip(unit, [0, 0.2, 0.4, 0.6, 0.8, 1.0]) { XCTAssertEqual(tick, expected, accuracy: 1e-12) }
        XCTAssertEqual(LineChart.ticks(0, 2000), [0, 500, 1000, 1500, 2000])
        XCTAssertEqual(LineChart.ticks(0.003, 0.0049).count, 4)
    }

    func testLayoutKeepsTheAspectRatioAndFitsTheBox() {
        let placed = ScatterPlot.layout([0, 0, 10, 5, 5, 2.5], size: 100, margin: 10)
        XCTAssertEqual(placed[0], 10, accuracy: 1e-9)
        XCTAssertEqual(placed[2], 90, accuracy: 1e-9)
        // Half the x span in y: 40 pixels, centred, y up.
        XCTAssertEqual(placed[1] - placed[3], 40, accuracy: 1e-9)
        XCTAssertEqual((placed[1] + placed[3]) / 2, 50, accuracy: 1e-9)
    }

    func testPathsAndClassNamesAreEscaped() {
        let hostile = "<script>alert(1)</script>\"&'"
        let items = [ReportItem(path: hostile, className: hostile, thumbnail: nil), ReportItem(path: "b", className: "x", thumbnail: nil)]
        let content = ReportContent(title: hostile, subtitle: "", classNames: [hostile, "x"], items: items,
                                    maps: [EmbeddingMap(id: "m", title: hostile, caption: "", points: [0, 0, 1, 1], items: [0, 1], labels: [0, 1])],
                                    grid: [RetrievalRow(query: 0, results: [.init(item: 1, similarity: 0.5, sameClass: false)], match: true)],
                                    threshold: nil, metrics: nil, metricsCaption: "", trainingLog: nil)
        let page = HTMLReport.page(content)
        XCTAssertFalse(page.contains("<script>alert"))
        XCTAssertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;&#39;"))
        XCTAssertTrue(page.contains(#""\u003cscript>alert(1)\u003c\/script>\"&'""#), "the hover data keeps the path, with no tag in it")
    }

    func testGridPNGFramesResultsByClass() throws {
        let picture = Image(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 128, count: 16))
        let items = (0..<3).map { ReportItem(path: "\($0)", className: $0 == 2 ? "b" : "a", thumbnail: picture) }
        let rows = [RetrievalRow(query: 0, results: [.init(item: 1, similarity: 0.9, sameClass: true), .init(item: 2, similarity: 0.8, sameClass: false)], match: true)]
        let image = PNGFigures.grid(rows, items: items, cell: 20)
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(image.pixels[((y * image.width + x) * 3)..<((y * image.width + x) * 3 + 3)]) }
        // Layout: 110 pixels of labels, then cells of 20 + 2·3 frame + 6 gap, starting 6 from the top.
        XCTAssertEqual(pixel(110 + 1, 6 + 1), [0x1f, 0x77, 0xb4], "query frame")
        XCTAssertEqual(pixel(110 + 32 + 1, 6 + 1), [0x2c, 0xa0, 0x2c], "same-class frame")
        XCTAssertEqual(pixel(110 + 64 + 1, 6 + 1), [0xd6, 0x27, 0x28], "other-class frame")
        XCTAssertEqual(pixel(110 + 32 + 3 + 10, 6 + 3 + 10), [128, 128, 128], "the thumbnail inside")
        XCTAssertNoThrow(try ImageEncoder.png(image))
    }
}

final class EventFileTests: XCTestCase {
    func testCRC32CKnownValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
    }

    func testProtobufEncodingOfKnownFields() throws {
        var value = Tensorboard_Summary.Value()
        value.tag = "ab"
        value.simpleValue = 1
        var event = Tensorboard_Event()
        event.step = 300
        event.summary.value = [value]
        // step (field 2, varint 300), summary (field 5, 11 bytes): value (field 1, 9 bytes): tag "ab", simple_value 1.0f.
        XCTAssertEqual(try event.serializedBytes() as [UInt8],
                       [0x10, 0xAC, 0x02, 0x2A, 0x0B, 0x0A, 0x09, 0x0A, 0x02, 0x61, 0x62, 0x15, 0x00, 0x00, 0x80, 0x3F])
    }

    func testDefaultBucketLimitsAreTensorFlows() {
        let limits = Histogram.defaultLimits
        XCTAssertEqual(limits.count, 1551)  // 774 powers of 1.1 from 1e-12 below 1e20, and the largest double, each side of 0
        XCTAssertEqual(limits[775], 0)
        XCTAssertEqual(limits[776], 1e-12)
        XCTAssertEqual(limits[774], -1e-12)
        XCTAssertEqual(limits.last, .greatestFiniteMagnitude)
        XCTAssertEqual(limits.first, -.greatestFiniteMagnitude)
        XCTAssertTrue(zip(limits, limits.dropFirst()).allSatisfy { $0 < $1 })
    }

    func testHistogramPutsEachValueInItsBucket() throws {
        let values: [Float] = [-1, 0, 0.5, 1, 2, 2, 3, 1e-30, -3e5]
        let h = values.withUnsafeBufferPointer { Histogram($0) }
        XCTAssertEqual(h.min, -3e5)
        XCTAssertEqual(h.max, 3)
        XCTAssertEqual(h.count, 9)
        XCTAssertEqual(h.bucketCounts.reduce(0, +), 9)
        XCTAssertEqual(h.sum, Double(values.reduce(0, +)), accuracy: 1e-9)
        // The plain reference: a linear scan for the first default limit above each value.
        let limits = Histogram.defaultLimits
        var expected = [Double](repeating: 0, count: limits.count)
        for v in values { expected[limits.firstIndex { $0 > Double(v) } ?? limits.count - 1] += 1 }
        let reference = Histogram.collapsingEmptyRuns(limits: limits, counts: expected)
        XCTAssertEqual(h.bucketLimits, reference.0)
        XCTAssertEqual(h.bucketCounts, reference.1)
        // 0 and 1e-30 share [0, 1e-12).
        let zeroBucket = try XCTUnwrap(h.bucketLimits.firstIndex(of: 1e-12))
        XCTAssertEqual(h.bucketCounts[zeroBucket], 2)
        // Empty runs are collapsed: no two empty buckets in a row.
        XCTAssertFalse(zip(h.bucketCounts, h.bucketCounts.dropFirst()).contains { $0 == 0 && $1 == 0 })
        XCTAssertEqual(h.bucketLimits.last, .greatestFiniteMagnitude)
    }

}
