import Foundation
import Tensors
import TestSupport
import Testing

/// sysexits: usage errors 64 with the usage line; bad data 65 and missing input 66 without it.
@Suite("akin exit statuses")
struct ExitStatusTests {
    @Test func usageErrorsShowUsageAndRuntimeErrorsDoNot() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try NpyFile.write(randomMatrix(20, 4, seed: 1), to: root + "/base.npy")
        try NpyFile.write(Tensor(shape: [1, 4], values: [1, .nan, 0, 0]), to: root + "/nan.npy")
        let g = root + "/g.akin"
        #expect(try CLI.run(["gallery", "create", "--dim", "4", "--out", g]).status == 0)
        #expect(try CLI.run(["gallery", "add", "--gallery", g, "--vectors", root + "/base.npy"]).status == 0)

        let missing = try CLI.run(["search", "--gallery", root + "/nothing.akin", "--vectors", root + "/base.npy"])
        #expect(missing.status == 66 && missing.errors.contains("does not exist") && !missing.errors.contains("Usage:"), "\(missing)")

        let nanQuery = try CLI.run(["search", "--gallery", g, "--vectors", root + "/nan.npy"])
        #expect(nanQuery.status == 65 && nanQuery.errors.contains("component 1 is nan") && !nanQuery.errors.contains("Usage:"), "\(nanQuery)")
        let nanAdd = try CLI.run(["gallery", "add", "--gallery", g, "--vectors", root + "/nan.npy"])
        #expect(nanAdd.status == 65 && !nanAdd.errors.contains("Usage:"), "\(nanAdd)")

        // A NaN in the third transaction commits nothing: the whole file is checked before the first.
        var rows = randomMatrix(10, 4, seed: 3).array
        rows[7 * 4 + 2] = .nan
        try NpyFile.write(Tensor(shape: [10, 4], values: rows), to: root + "/late-nan.npy")
        let late = try CLI.run(["gallery", "add", "--gallery", g, "--vectors", root + "/late-nan.npy", "--transaction", "3"])
        #expect(late.status == 65 && late.errors.contains("vector 7") && late.output.isEmpty, "\(late)")
        #expect(try CLI.run(["gallery", "stats", "--gallery", g]).output.contains("items: 20"), "nothing of the file was added")

        // Run again with --skip-existing, an add adds only what the gallery lacks (by path).
        let paths = root + "/paths.txt"
        try (0..<20).map { "row\($0)" }.joined(separator: "\n").write(toFile: paths, atomically: true, encoding: .utf8)
        let g2 = root + "/g2.akin"
        #expect(try CLI.run(["gallery", "create", "--dim", "4", "--out", g2]).status == 0)
        #expect(try CLI.run(["gallery", "add", "--gallery", g2, "--vectors", root + "/base.npy", "--paths", paths, "--transaction", "7"]).status == 0)
        let again = try CLI.run(["gallery", "add", "--gallery", g2, "--vectors", root + "/base.npy", "--paths", paths, "--skip-existing"])
        #expect(again.status == 0 && again.errors.contains("skipped 20 items"), "\(again.errors)")
        #expect(try CLI.run(["gallery", "stats", "--gallery", g2]).output.contains("items: 20"))

        // Help, asked for or implied by a command that has only subcommands, is no error.
        for arguments in [["--help"], ["gallery"], ["index"]] {
            let help = try CLI.run(arguments)
            #expect(help.status == 0 && (help.output + help.errors).contains("OVERVIEW") && !help.errors.contains("Error"), "\(arguments): \(help)")
        }
        let zeroK = try CLI.run(["search", "--gallery", g, "--vectors", root + "/base.npy", "-k", "0"])
        #expect(zeroK.status == 64 && zeroK.errors.contains("Usage:"), "\(zeroK)")
        let noThreads = try CLI.run(["search", "--gallery", g, "--vectors", root + "/base.npy", "--threads", "0"])
        #expect(noThreads.status == 64 && noThreads.errors.contains("--threads"), "\(noThreads)")
        let infinite = try CLI.run(["index", "build", "--gallery", g, "--kind", "ivfpq", "--memory", "infGB"])
        #expect(infinite.status == 64 && infinite.errors.contains("--memory"), "\(infinite)")
        let hugeK = try CLI.run(["search", "--gallery", g, "--vectors", root + "/base.npy", "-k", "4611686018427387903", "--json"])
        #expect(hugeK.status == 0, "\(hugeK.errors)")
        let answers = try json(hugeK.output)
        #expect(answers.count == 20 && answers.allSatisfy { ($0["results"] as? [Any])?.count == 20 })
    }

    /// `--max-pixels` reaches the decoder of every file: 12 × 12 images (144 pixels) under a limit
    /// of 100 are each skipped with the reason, and nothing is left to evaluate.
    @Test func maxPixelsRefusesLargerImages() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeDataset(at: root + "/data", perClass: 3)
        let refused = try CLI.run(["eval", "--pixels", "--image-size", "12", "--max-pixels", "100", root + "/data"])
        #expect(refused.status == 65 && refused.errors.contains("144 pixels), more than the limit of 100") && !refused.errors.contains("Usage:"),
                "\(refused.errors)")
        #expect(try CLI.run(["eval", "--pixels", "--image-size", "12", "--max-pixels", "144", root + "/data"]).status == 0)
        #expect(try CLI.run(["eval", "--pixels", "--max-pixels", "0", root + "/data"]).status == 64)
    }
}
