import Foundation
import FuzzTargets
import Testing

/// Every input the fuzzers keep (fuzz/seeds, and fuzz/regressions: what once crashed, hung or
/// exhausted memory) goes through its target exactly as under libFuzzer, here without the fuzzer
/// and under the suite's own sanitizers: a parser that regresses stops this test.
@Suite struct FuzzInputTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz")

    static func inputs(of target: FuzzTarget, in folder: String) -> [URL] {
        let directory = fuzzFolder.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.map { directory.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func keptInputsRunCleanly(target: FuzzTarget) throws {
        let seeds = Self.inputs(of: target, in: "seeds"), regressions = Self.inputs(of: target, in: "regressions")
        #expect(seeds.count >= 2, "fuzz/seeds/\(target.rawValue) should hold a seed corpus (scripts/fuzz.sh seeds)")
        for file in seeds + regressions {
            // Foundation leaks its read buffer for an empty file (LeakSanitizer shows it): empty files are read as such.
            let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
            target.run(size == 0 ? Data() : try Data(contentsOf: file))
        }
    }
}
