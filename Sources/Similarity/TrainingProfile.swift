import Foundation
import Networks

/// Where training time goes: each stage of a step, and each layer of the network.
public final class TrainingProfile {
    /// `communication`: a data-parallel step's exchanges (gathering the embeddings, summing the gradients).
    public enum Stage: Int, CaseIterable { case batch, forward, communication, loss, backward, optimizer, checkpoint }
    public var stages = [UInt64](repeating: 0, count: Stage.allCases.count)
    public var layers: LayerProfile?
    public var steps = 0

    public init() {}

    public func table() -> String {
        let total = Double(stages.reduce(0, +))
        var lines = ["stage          ms/step   share"]
        for stage in Stage.allCases {
            let ns = Double(stages[stage.rawValue])
            lines.append("\(stage)".padding(toLength: 14, withPad: " ", startingAt: 0)
                         + String(format: "%8.2f %6.1f%%", ns / 1e6 / Double(max(steps, 1)), total > 0 ? ns / total * 100 : 0))
        }
        if let layers { lines.append(""); lines.append(layers.table(passes: steps)) }
        return lines.joined(separator: "\n")
    }
}
