import Foundation
import Tensors
import TestSupport
import Testing

/// A Python with TensorBoard installed, to read event files back with TensorBoard's own reader
/// (`AKIN_TENSORBOARD_PYTHON`, or the reference Python of the other tests). CI makes one (the
/// README's first command); elsewhere the test is skipped without it.
enum TensorBoardPython {
    static let path: String? = {
        let module = "tensorboard.backend.event_processing.event_accumulator"
        if let chosen = ProcessInfo.processInfo.environment["AKIN_TENSORBOARD_PYTHON"],
           (try? ReferencePython.run(chosen, ["-c", "import " + module]).status) == 0 {
            return chosen
        }
        return ReferencePython.path(importing: [module])
    }()

    static let reader = """
        import json, sys
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "histograms": 0})
        acc.Reload()
        tags = acc.Tags()
        out = {"scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
               "histograms": {t: [[e.step, e.histogram_value.num, e.histogram_value.min, e.histogram_value.max,
                                   sum(e.histogram_value.bucket)] for e in acc.Histograms(t)] for t in tags["histograms"]}}
        print(json.dumps(out))
        """

    static func read(_ directory: String) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path!)
        process.arguments = ["-c", reader, directory]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (try JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }
}

extension TensorBoardPython {
    /// Runs where a Python with tensorboard is found, and always under CI (where its absence fails).
    static var required: ConditionTrait {
        .enabled(if: path != nil || ReferencePython.underCI,
                 "no Python with tensorboard (pip install tensorboard, or set AKIN_TENSORBOARD_PYTHON): the event-file check is skipped")
    }

    /// A temporary folder holding the small dataset under data/, or nil (a recorded failure) when
    /// there is no Python to read the events back.
    static func datasetFolder() throws -> String? {
        #expect(path != nil, "CI must install tensorboard into ~/.cache/akin-test/venv")
        guard path != nil else { return nil }
        let root = try temporaryFolder()
        try makeDataset(at: root + "/data")
        return root
    }
}

@Suite("akin train --logdir")
struct TensorBoardTests {
    @Test(TensorBoardPython.required)
    func tensorBoardReadsTheScalarsAndHistograms() throws {
        guard let root = try TensorBoardPython.datasetFolder() else { return }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let train = try CLI.run(["train", root + "/data", "--out", root + "/m.safetensors", "--log", root + "/log.csv", "--logdir", root + "/tb",
                                 "--scalars-every", "2", "--histograms-every", "2", "--steps", "5"] + smallTraining.dropFirst(2))
        #expect(train.status == 0, "\(train.errors)")
        #expect(train.errors.contains("TensorBoard events: \(root)/tb/events.out.tfevents."))

        let events = try TensorBoardPython.read(root + "/tb")
        let scalars = try #require(events["scalars"] as? [String: [[Double]]], "EventAccumulator found no scalars: \(events)")
        // The CSV log of the same run has every step; the events have steps 1, 2, 4 and the last, 5.
        let rows = try String(contentsOfFile: root + "/log.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        for (tag, column) in [("loss", 1), ("active_fraction", 2), ("mean_positive_distance", 3), ("mean_negative_distance", 4), ("learning_rate", 5)] {
            let series = try #require(scalars[tag], "no scalar \(tag) among \(scalars.keys.sorted())")
            #expect(series.map { Int($0[0]) } == [1, 2, 4, 5], "\(tag) steps")
            for point in series {
                // Compared as Float32, TensorBoard's simple_value (the JSON on the way may be an ulp off in double).
                let logged = Float(String(rows[Int(point[0]) - 1][column]))!
                #expect(Float(point[1]) == logged, "\(tag) at step \(Int(point[0])): \(point[1]) in the events, \(logged) in the log")
            }
        }
        // Weight histograms at steps 2, 4 and 5; at the last step they describe the saved model's weights.
        let histograms = try #require(events["histograms"] as? [String: [[Double]]])
        #expect(!histograms.isEmpty)
        let model = try SafeTensorsFile.read(from: root + "/m.safetensors")
        for (tag, series) in histograms {
            #expect(series.map { Int($0[0]) } == [2, 4, 5], "\(tag) steps")
            let name = String(tag.dropFirst("weights/".count))
            let tensor = try #require(model.tensors[name], "\(tag) names no tensor of the model")
            let last = series.last!
            #expect(Int(last[1]) == tensor.count && Int(last[4]) == tensor.count, "\(tag): \(last[1]) values, \(last[4]) in the buckets")
            #expect(Float(last[2]) == tensor.array.min()! && Float(last[3]) == tensor.array.max()!, "\(tag) range")
        }
    }

    @Test(TensorBoardPython.required)
    func resumedRunShowsEachStepOnce() throws {
        guard let root = try TensorBoardPython.datasetFolder() else { return }
        defer { try? FileManager.default.removeItem(atPath: root) }
        // As in the CSV log's resume test, step 3 is logged twice, by two runs in two event files.
        try trainThroughAnInterruption(checkpoint: root + "/m.safetensors.checkpoint") { steps, extra in
            var options = smallTraining
            options[1] = steps
            let r = try CLI.run(["train", root + "/data", "--out", root + "/m.safetensors", "--log", root + "/log.csv", "--logdir", root + "/tb",
                                 "--scalars-every", "1", "--histograms-every", "1", "--seed", "3"] + options + extra)
            #expect(r.status == 0, "\(r.errors)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/tb").filter { $0.contains("tfevents") }
        #expect(files.count == 3, "one event file per run: \(files)")

        let events = try TensorBoardPython.read(root + "/tb")
        let scalars = try #require(events["scalars"] as? [String: [[Double]]], "EventAccumulator found no scalars: \(events)")
        let rows = try String(contentsOfFile: root + "/log.csv", encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        let loss = try #require(scalars["loss"])
        #expect(loss.map { Int($0[0]) } == [1, 2, 3, 4], "each step once, in order")
        for point in loss { #expect(Float(point[1]) == Float(String(rows[Int(point[0]) - 1][1]))!) }
        let histograms = try #require(events["histograms"] as? [String: [[Double]]])
        #expect(!histograms.isEmpty)
        for (tag, series) in histograms { #expect(series.map { Int($0[0]) } == [1, 2, 3, 4], "\(tag) steps") }
    }
}
