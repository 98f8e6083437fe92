import Tensors

/// A trainable tensor and the gradient that the last backward pass wrote for it.
public final class Parameter {
    public let name: String
    public let value: Tensor
    public let gradient: Tensor

    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        gradient = Tensor(shape: value.shape)
    }
}

/// One step of a network. `forward` keeps what `backward` needs; `backward` takes the gradient
/// of the loss with respect to the last forward's output, *overwrites* the parameters' gradients
/// (each layer runs once per step: the triplet branches share one batch) and returns the gradient
/// with respect to the input, or nil when `needsInputGradient` is false (the first layer).
/// Returned tensors belong to the layer and are reused by its next call.
public protocol Layer: AnyObject {
    func outputShape(for inputShape: [Int]) -> [Int]
    func forward(_ input: Tensor) throws -> Tensor
    func backward(_ outputGradient: Tensor) throws -> Tensor?
    var parameters: [Parameter] { get }
    /// State saved with the weights but not trained: batch norm's running statistics.
    var buffers: [Parameter] { get }
    var needsInputGradient: Bool { get set }
    /// How many floats the layer keeps for one forward pass on `inputShape` (its output, and for
    /// layers made of layers every inner output): what a batch costs in memory.
    func activationCount(for inputShape: [Int]) -> Int
}

extension Layer {
    public var buffers: [Parameter] { [] }
    public func activationCount(for inputShape: [Int]) -> Int { outputShape(for: inputShape).reduce(1, *) }
}

/// A layer that computes differently when training (batch statistics, kept workspaces) and when
/// embedding.
public protocol ModeDependentLayer: Layer {
    var isTraining: Bool { get set }
}

/// Reuses one output tensor while the shape stays the same, so a training step allocates nothing.
struct ReusableTensor {
    private var tensor: Tensor?

    mutating func tensor(shape: [Int]) -> Tensor {
        if let tensor, tensor.shape == shape { return tensor }
        let fresh = Tensor(shape: shape)
        tensor = fresh
        return fresh
    }
}
