import Foundation
import TestSupport
import Testing

/// Examples/SimilarImages, the README's "Use from Swift" program, run as a user would run it.
@Suite("Example program")
struct ExampleProgramTests {
    static var binary: URL { CLI.binary.deletingLastPathComponent().appendingPathComponent("SimilarImages") }

    @Test func trainsEmbedsIndexesAndFindsTheQuerysClass() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/train", perClass: 20, seed: 1)
        // Queries the gallery does not hold: new drawings of the same three classes.
        try makeDataset(at: root + "/queries", perClass: 2, seed: 9)
        let queries = ["bar", "column", "diagonal"].map { root + "/queries/\($0)/0.png" }
        let r = try CLI.capture(Self.binary, [root + "/train"] + queries)
        #expect(r.status == 0, "\(r.errors)")
        let lines = r.output.split(separator: "\n").map(String.init)
        for (query, name) in zip(queries, ["bar", "column", "diagonal"]) {
            guard let at = lines.firstIndex(of: query), at + 1 < lines.count else {
                Issue.record("no results for \(query) in \(r.output)")
                continue
            }
            let hits = lines[(at + 1)...].prefix { $0.hasPrefix("  ") }
            #expect(hits.count == 5)
            #expect(hits.first?.contains("  \(name)  ") == true, "the best hit for a \(name) should be a \(name): \(hits)")
        }
    }

    /// README's "Use from Swift" shows the program as it is, so the copy cannot drift from what runs.
    @Test func readmeShowsTheProgramVerbatim() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let program = try String(contentsOf: root.appendingPathComponent("Examples/SimilarImages/main.swift"), encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("```swift\n" + program + "```"))
    }
}
