import Foundation

/// A training run's log, one row per step (`akin train --log`): CSV with a header, or JSON lines when
/// the path ends in .jsonl; `TrainingLogData` reads it back. Each row is written as it comes, so a
/// crashed run's log is complete up to the crash, and a resumed run drops the rows of the steps it repeats.
public final class TrainingLog {
    private let path: String
    private let note: (String) -> Void
    private var handle: FileHandle
    private let jsonLines: Bool
    private var trimmed: Bool

    /// Starts the log at `path` (replacing any), or continues the one there when `resuming`.
    /// `note` hears of a log that could not be trimmed (it may then repeat some steps).
    public init(path: String, resuming: Bool, note: @escaping (String) -> Void = { _ in }) throws {
        self.note = note
        self.path = path
        jsonLines = path.hasSuffix(".jsonl")
        trimmed = !resuming
        let manager = FileManager.default
        if !resuming || !manager.fileExists(atPath: path) {
            let header = jsonLines ? "" : "step,loss,active_fraction,mean_positive_distance,mean_negative_distance,learning_rate,val_precision_at_1,val_map_at_r\n"
            guard manager.createFile(atPath: path, contents: Data(header.utf8)) else {
                throw ReportError.write(path: path, reason: "cannot create the log file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw ReportError.write(path: path, reason: "cannot open the log file for writing") }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    /// Writes the step's row.
    public func append(_ step: TrainingStep) {
        if !trimmed { trimRows(from: step.step) }
        let s = step.statistics
        let v = step.validation
        let validation = v.map { ",\"val_precision_at_1\":\($0.precisionAt1),\"val_map_at_r\":\($0.mapAtR)" } ?? ""
        let line = jsonLines
            ? "{\"step\":\(step.step),\"loss\":\(s.loss),\"active_fraction\":\(s.activeFraction),\"mean_positive_distance\":\(s.meanPositiveDistance),\"mean_negative_distance\":\(s.meanNegativeDistance),\"learning_rate\":\(step.learningRate)\(validation)}\n"
            : "\(step.step),\(s.loss),\(s.activeFraction),\(s.meanPositiveDistance),\(s.meanNegativeDistance),\(step.learningRate),\(v.map { String($0.precisionAt1) } ?? ""),\(v.map { String($0.mapAtR) } ?? "")\n"
        handle.write(Data(line.utf8))
    }

    /// A resumed run repeats the steps after its checkpoint: drop the interrupted run's rows for them.
    private func trimRows(from firstStep: Int) {
        trimmed = true
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            let digits = line.drop { !$0.isNumber }.prefix { $0.isNumber }
            guard let step = Int(digits), line.first != "s" else { return true }  // the CSV header
            return step < firstStep
        }
        // Replace the file whole, so a crash here cannot lose the rows that were kept.
        do {
            try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: path)
            if let reopened = FileHandle(forWritingAtPath: path) {
                try? handle.close()
                reopened.seekToEndOfFile()
                handle = reopened
            }
        } catch {
            note("could not trim the log \(path): \(error); it may repeat steps after the checkpoint")
        }
    }
}
