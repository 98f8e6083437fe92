import Foundation

public enum ReportError: Error, CustomStringConvertible, Equatable {
    case unreadableLog(path: String, reason: String)
    case badLog(path: String, line: Int, reason: String)
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadableLog(path, reason): return "cannot read the training log \(path): \(reason)"
        case let .badLog(path, line, reason):
            return "\(path), line \(line): \(reason). Give the CSV or JSON-lines file written by `akin train --log`."
        case let .write(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}

/// The per-step series of a training log written by `akin train --log` (CSV with a header, or JSON lines).
public struct TrainingLogData: Sendable, Equatable {
    public var steps: [Int] = []
    public var loss: [Double] = []
    public var activeFraction: [Double] = []
    public var meanPositiveDistance: [Double] = []
    public var meanNegativeDistance: [Double] = []
    public var learningRate: [Double] = []
    /// Steps that have a validation, and its scores.
    public var validationSteps: [Int] = []
    public var validationPrecisionAt1: [Double] = []
    public var validationMAPAtR: [Double] = []

    public init() {}

    static let columns = ["step", "loss", "active_fraction", "mean_positive_distance", "mean_negative_distance", "learning_rate"]

    public static func read(from path: String) throws(ReportError) -> TrainingLogData {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .unreadableLog(path: path, reason: (error as NSError).localizedDescription)
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var data = TrainingLogData()
        if lines.first?.hasPrefix("{") == true {
            for (n, line) in lines.enumerated() where !line.isEmpty {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw .badLog(path: path, line: n + 1, reason: "not a JSON object")
                }
                var row: [String: Double] = [:]
                for (key, value) in object { if let number = value as? NSNumber { row[key] = number.doubleValue } }
                try data.add(row, path: path, line: n + 1)
            }
        } else {
            guard let header = lines.first?.split(separator: ",").map(String.init), header.contains("step") else {
                throw .badLog(path: path, line: 1, reason: "no header naming the columns (step, loss, …)")
            }
            for (n, line) in lines.enumerated().dropFirst() where !line.isEmpty {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count == header.count else {
                    throw .badLog(path: path, line: n + 1, reason: "\(fields.count) fields, the header has \(header.count)")
                }
                var row: [String: Double] = [:]
                for (name, field) in zip(header, fields) where !field.isEmpty {
                    guard let value = Double(field) else { throw .badLog(path: path, line: n + 1, reason: "\(name) is not a number: \"\(field)\"") }
                    row[name] = value
                }
                try data.add(row, path: path, line: n + 1)
            }
        }
        return data
    }

    private mutating func add(_ row: [String: Double], path: String, line: Int) throws(ReportError) {
        for column in Self.columns where row[column] == nil {
            throw .badLog(path: path, line: line, reason: "no \(column) value")
        }
        let step = Int(row["step"]!)
        steps.append(step)
        loss.append(row["loss"]!)
        activeFraction.append(row["active_fraction"]!)
        meanPositiveDistance.append(row["mean_positive_distance"]!)
        meanNegativeDistance.append(row["mean_negative_distance"]!)
        learningRate.append(row["learning_rate"]!)
        if let p1 = row["val_precision_at_1"], let map = row["val_map_at_r"] {
            validationSteps.append(step)
            validationPrecisionAt1.append(p1)
            validationMAPAtR.append(map)
        }
    }
}
