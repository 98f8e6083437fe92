import Foundation
import Search
import Tensors
import TestSupport
import Testing

/// Random vectors as a user's .npy file would hold them (not unit length).
func randomMatrix(_ n: Int, _ d: Int, seed: UInt64) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    return Tensor(shape: [n, d], values: (0..<(n * d)).map { _ in generator.nextFloat() * 2 - 1 })
}

func json(_ output: String) throws -> [[String: Any]] {
    try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [[String: Any]]
}

@Suite("akin gallery, index and search on vectors", .serialized)
struct GalleryCLITests {
    /// Cosine top k by sorting every similarity, the definition.
    func exactTop(_ base: Tensor, _ query: Tensor, row: Int, k: Int, excluding removed: Set<Int> = []) -> [Int] {
        let d = base.shape[1]
        func norm(_ t: Tensor, _ r: Int) -> Float { (0..<d).reduce(Float(0)) { $0 + t[r * d + $1] * t[r * d + $1] }.squareRoot() }
        var scored: [(Int, Float)] = []
        for i in 0..<base.shape[0] where !removed.contains(i) {
            var s: Float = 0
            for j in 0..<d { s += base[i * d + j] * query[row * d + j] }
            scored.append((i, s / (norm(base, i) * norm(query, row))))
        }
        return scored.sorted { $0.1 > $1.1 }.prefix(k).map(\.0)
    }

    @Test func vectorsInGalleryIndexSearchAndRemoval() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let base = randomMatrix(400, 8, seed: 1), queries = randomMatrix(5, 8, seed: 2)
        try NpyFile.write(base, to: root + "/base.npy")
        try NpyFile.write(queries, to: root + "/q.npy")
        try (0..<400).map { "class\($0 % 4)" }.joined(separator: "\n").write(toFile: root + "/labels.txt", atomically: true, encoding: .utf8)
        try (0..<400).map { "s3://bucket/\($0).jpg" }.joined(separator: "\n").write(toFile: root + "/paths.txt", atomically: true, encoding: .utf8)
        let g = root + "/g.akin"

        let create = try CLI.run(["gallery", "create", "--dim", "8", "--out", g])
        #expect(create.status == 0, "\(create.errors)")
        let add = try CLI.run(["gallery", "add", "--gallery", g, "--vectors", root + "/base.npy", "--labels", root + "/labels.txt", "--paths", root + "/paths.txt"])
        #expect(add.status == 0 && add.errors.contains("added 400 items"), "\(add.errors)")

        let exact = try CLI.run(["search", "--gallery", g, "--exact", "--vectors", root + "/q.npy", "-k", "5", "--json"])
        #expect(exact.status == 0, "\(exact.errors)")
        let answers = try json(exact.output)
        #expect(answers.count == 5)
        for (q, answer) in answers.enumerated() {
            let results = answer["results"] as! [[String: Any]]
            let ids = results.map { $0["id"] as! Int }
            #expect(ids == exactTop(base, queries, row: q, k: 5))
            #expect(results.allSatisfy { $0["label"] as? String == "class\(($0["id"] as! Int) % 4)" })
            #expect(results.allSatisfy { $0["path"] as? String == "s3://bucket/\($0["id"] as! Int).jpg" })
        }

        let build = try CLI.run(["index", "build", "--gallery", g, "--kind", "hnsw", "--m", "8", "--ef-search", "64"])
        #expect(build.status == 0 && build.errors.contains("hnsw index of 400 items"), "\(build.errors)")
        let graph = try CLI.run(["search", "--gallery", g, "--vectors", root + "/q.npy", "-k", "5", "--json", "--stats"])
        #expect(graph.status == 0 && graph.errors.contains("queries/s") && graph.errors.contains("index (hnsw)"), "\(graph.errors)")
        let graphTop = try json(graph.output).map { (($0["results"] as! [[String: Any]])[0]["id"] as! Int) }
        #expect(graphTop == (0..<5).map { exactTop(base, queries, row: $0, k: 1)[0] })

        // Removing the best hits: the index catches up and never returns them.
        let removed = Set(graphTop)
        let remove = try CLI.run(["gallery", "remove", "--gallery", g] + graphTop.map(String.init))
        #expect(remove.status == 0 && remove.errors.contains("the gallery holds \(400 - removed.count)"), "\(remove.errors)")
        let after = try CLI.run(["search", "--gallery", g, "--vectors", root + "/q.npy", "-k", "5", "--json", "--stats"])
        #expect(after.errors.contains("caught up with 0 added and \(removed.count) removed"), "\(after.errors)")
        let afterTop = try json(after.output).map { (($0["results"] as! [[String: Any]])[0]["id"] as! Int) }
        #expect(afterTop == (0..<5).map { exactTop(base, queries, row: $0, k: 1, excluding: removed)[0] })

        // A damaged index file is rebuilt, not trusted.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: g + ".index"))
        bytes[bytes.count - 10] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: g + ".index"))
        let repaired = try CLI.run(["search", "--gallery", g, "--vectors", root + "/q.npy", "-k", "5", "--json"])
        #expect(repaired.status == 0 && repaired.errors.contains("rebuilt the index") && repaired.errors.contains("checksum"), "\(repaired.errors)")
        #expect(try json(repaired.output).map { (($0["results"] as! [[String: Any]])[0]["id"] as! Int) } == afterTop)

        let list = try CLI.run(["gallery", "list", "--gallery", g, "--limit", "3", "--json"])
        let expectedFirst = Array((0..<400).filter { !removed.contains($0) }.prefix(3))
        #expect(try json(list.output).map { $0["id"] as! Int } == expectedFirst)
        let stats = try CLI.run(["gallery", "stats", "--gallery", g])
        #expect(stats.output.contains("items: \(400 - removed.count)") && stats.output.contains("dimension: 8") && stats.output.contains("index: hnsw"), "\(stats.output)")

        // Dropped: the gallery and its index go; a file that is not a gallery is refused and stays.
        try "notes".write(toFile: root + "/notes.txt", atomically: true, encoding: .utf8)
        let notGallery = try CLI.run(["gallery", "drop", "--gallery", root + "/notes.txt"])
        #expect(notGallery.status != 0 && notGallery.errors.contains("notes.txt"), "\(notGallery.errors)")
        #expect(FileManager.default.fileExists(atPath: root + "/notes.txt"))
        let drop = try CLI.run(["gallery", "drop", "--gallery", g])
        #expect(drop.status == 0 && drop.errors.contains("dropped"), "\(drop.errors)")
        #expect(!FileManager.default.fileExists(atPath: g) && !FileManager.default.fileExists(atPath: g + ".index"))
        let again = try CLI.run(["gallery", "drop", "--gallery", g])
        #expect(again.status != 0 && again.errors.contains("does not exist"), "\(again.errors)")
    }

    @Test func badInputIsRefusedClearly() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let g = root + "/g.akin"
        #expect(try CLI.run(["gallery", "create", "--dim", "4", "--out", g]).status == 0)
        try NpyFile.write(randomMatrix(3, 5, seed: 1), to: root + "/five.npy")
        let wrongSize = try CLI.run(["gallery", "add", "--gallery", g, "--vectors", root + "/five.npy"])
        #expect(wrongSize.status != 0 && wrongSize.errors.contains("holds 4-d vectors"), "\(wrongSize.errors)")
        try NpyFile.write(randomMatrix(3, 4, seed: 1), to: root + "/four.npy")
        try "a\nb\n".write(toFile: root + "/two.txt", atomically: true, encoding: .utf8)
        let fewLabels = try CLI.run(["gallery", "add", "--gallery", g, "--vectors", root + "/four.npy", "--labels", root + "/two.txt"])
        #expect(fewLabels.status != 0 && fewLabels.errors.contains("one line per row"), "\(fewLabels.errors)")
        let empty = try CLI.run(["search", "--gallery", g, "--vectors", root + "/four.npy"])
        #expect(empty.status != 0 && empty.errors.contains("holds no items"), "\(empty.errors)")
        let again = try CLI.run(["gallery", "create", "--dim", "4", "--out", g])
        #expect(again.status != 0 && again.errors.contains("already exists"))
    }

    /// kill -9 in the middle of a long run of adds: every batch the child acknowledged is there,
    /// whole, and nothing half-added is.
    @Test func killedAddLosesNoAcknowledgedItem() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let g = root + "/g.akin", n = 20_000, batch = 20
        let base = randomMatrix(n, 8, seed: 3)
        try NpyFile.write(base, to: root + "/base.npy")
        #expect(try CLI.run(["gallery", "create", "--dim", "8", "--out", g]).status == 0)

        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["gallery", "add", "--gallery", g, "--vectors", root + "/base.npy", "--transaction", String(batch)]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(120)
        while text.components(separatedBy: "\n").count < 12 && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        text += String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .uncaughtSignal, "the child must have been killed mid-way, not finished")
        let acknowledged = text.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("added "), let last = line.split(separator: "…").last else { return nil }
            return Int(last)
        }.max() ?? -1
        #expect(acknowledged >= 10 * batch - 1)

        let store = try SQLiteGalleryStore.open(g)
        #expect(try store.integrityCheck() == "ok")
        let (ids, vectors, _) = try store.allVectors()
        #expect(ids.count > acknowledged, "every acknowledged item survived")
        #expect(ids == Array(0..<ids.count) && ids.count % batch == 0, "only whole batches, in order")
        let d = 8
        for row in [0, acknowledged, ids.count - 1] {
            let norm = (0..<d).reduce(Float(0)) { $0 + base[row * d + $1] * base[row * d + $1] }.squareRoot()
            #expect((0..<d).allSatisfy { abs(vectors[row * d + $0] - base[row * d + $0] / norm) < 1e-6 })
        }
    }
}
