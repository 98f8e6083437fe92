import Dispatch
import Tensors

/// Layers run in order. The first layer never computes an input gradient: nothing upstream learns.
public final class Sequential {
    public let layers: [Layer]
    /// When set, every forward and backward pass adds each layer's time to it.
    public var profile: LayerProfile?

    public init(_ layers: [Layer]) {
        self.layers = layers
        layers.first?.needsInputGradient = false
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var buffers: [Parameter] { layers.flatMap(\.buffers) }

    /// Training mode (the default) or inference mode, for the layers that differ between the two.
    public var isTraining: Bool = true {
        didSet { for case let layer as ModeDependentLayer in layers { layer.isTraining = isTraining } }
    }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        outputShape(for: inputShape, through: layers.count)
    }

    /// The shape after the first `depth` layers.
    public func outputShape(for inputShape: [Int], through depth: Int) -> [Int] {
        layers.prefix(depth).reduce(inputShape) { $1.outputShape(for: $0) }
    }

    /// Floats the first `depth` layers keep for one forward pass on `inputShape`.
    public func activationCount(for inputShape: [Int], through depth: Int) -> Int {
        var shape = inputShape, total = 0
        for layer in layers.prefix(depth) {
            total += layer.activationCount(for: shape)
            shape = layer.outputShape(for: shape)
        }
        return total
    }

    /// The first `depth` layers' output, for inference: an embedding taken before the projection head.
    public func forward(_ input: Tensor, through depth: Int) throws -> Tensor {
        try depth == layers.count ? forward(input) : layers.prefix(depth).reduce(input) { try $1.forward($0) }
    }

    public func forward(_ input: Tensor) throws -> Tensor {
        guard let profile else { return try layers.reduce(input) { try $1.forward($0) } }
        var x = input
        for (i, layer) in layers.enumerated() {
            let start = DispatchTime.now().uptimeNanoseconds
            x = try layer.forward(x)
            profile.forward[i] += DispatchTime.now().uptimeNanoseconds - start
        }
        return x
    }

    /// Layers `start...` on an input that is layer `start − 1`'s output: a head trained on
    /// features computed once by a frozen backbone.
    public func forward(_ input: Tensor, from start: Int) throws -> Tensor {
        try layers[start...].reduce(input) { try $1.forward($0) }
    }

    /// Backward through layers `start...` only (after `forward(_:from:)`); the layers before keep
    /// their parameter gradients untouched.
    public func backward(_ outputGradient: Tensor, downTo start: Int) throws {
        var gradient: Tensor? = outputGradient
        for layer in layers[start...].reversed() {
            guard let g = gradient else { return }
            gradient = try layer.backward(g)
        }
    }

    public func backward(_ outputGradient: Tensor) throws {
        var gradient: Tensor? = outputGradient
        for (i, layer) in layers.enumerated().reversed() {
            guard let g = gradient else { return }
            let start = DispatchTime.now().uptimeNanoseconds
            gradient = try layer.backward(g)
            profile?.backward[i] += DispatchTime.now().uptimeNanoseconds - start
        }
    }
}

/// Time spent in each layer, in nanoseconds, summed over the passes it saw.
public final class LayerProfile {
    public let names: [String]
    public var forward: [UInt64]
    public var backward: [UInt64]

    public init(_ network: Sequential) {
        names = network.layers.enumerated().map { "\($0.offset) \(type(of: $0.element))" }
        forward = Array(repeating: 0, count: network.layers.count)
        backward = forward
    }

    /// One line per layer: forward and backward milliseconds per pass, and the share of the total.
    public func table(passes: Int) -> String {
        let total = Double(forward.reduce(0, +) + backward.reduce(0, +))
        var lines = ["layer                 forward ms  backward ms   share"]
        for i in names.indices {
            let f = Double(forward[i]) / 1e6 / Double(max(passes, 1)), b = Double(backward[i]) / 1e6 / Double(max(passes, 1))
            let share = total > 0 ? Double(forward[i] + backward[i]) / total * 100 : 0
            lines.append(names[i].padding(toLength: 20, withPad: " ", startingAt: 0)
                         + String(format: "%12.2f %12.2f %6.1f%%", f, b, share))
        }
        return lines.joined(separator: "\n")
    }
}

import Foundation
