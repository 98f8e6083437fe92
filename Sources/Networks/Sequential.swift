import Tensors

/// Layers run in order. The first layer never computes an input gradient: nothing upstream learns.
public final class Sequential {
    public let layers: [Layer]

    public init(_ layers: [Layer]) {
        self.layers = layers
        layers.first?.needsInputGradient = false
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    public func outputShape(for inputShape: [Int]) -> [Int] {
        layers.reduce(inputShape) { $1.outputShape(for: $0) }
    }

    public func forward(_ input: Tensor) -> Tensor {
        layers.reduce(input) { $1.forward($0) }
    }

    public func backward(_ outputGradient: Tensor) {
        var gradient: Tensor? = outputGradient
        for layer in layers.reversed() {
            guard let g = gradient else { return }
            gradient = layer.backward(g)
        }
    }
}
