import Tensors

/// A basic ResNet block built from separate layers: ReLU(BN(conv(ReLU(BN(conv(x))))) + s(x)),
/// where s is the identity or, when the block changes shape, BN(conv1×1(x)). The layer-by-layer
/// reference that the fused `ResidualNetwork` is tested against.
public final class ResidualBlock: ModeDependentLayer {
    public let main: [Layer]
    public let shortcut: [Layer]
    public var needsInputGradient = true {
        didSet { main[0].needsInputGradient = needsInputGradient; shortcut.first?.needsInputGradient = needsInputGradient }
    }
    public var isTraining = true {
        didSet { for case let layer as ModeDependentLayer in main + shortcut { layer.isTraining = isTraining } }
    }

    private let finalReLU = ReLU()
    private var sum = ReusableTensor()
    private var inputGradient = ReusableTensor()

    /// Units from `plan` (its convolution + batch-norm pairs) named under `prefix`.
    public init(plan: ResidualPlan, block: ResidualPlan.Block, prefix: String) {
        func layers(_ index: Int) -> [Layer] {
            let u = plan.units[index]
            let conv = Conv2D(inputChannels: u.inputChannels, outputChannels: u.outputChannels, kernelSize: u.kernelSize,
                              stride: u.stride, bias: false, name: prefix + u.name)
            let norm = BatchNorm2D(channels: u.outputChannels, name: prefix + u.name + ".norm")
            return u.relu ? [conv, norm, ReLU()] : [conv, norm]
        }
        main = layers(block.first) + layers(block.second)
        shortcut = block.shortcut.map(layers) ?? []
    }

    public var parameters: [Parameter] { (main + shortcut).flatMap(\.parameters) }
    public var buffers: [Parameter] { (main + shortcut).flatMap(\.buffers) }

    public func outputShape(for inputShape: [Int]) -> [Int] { main.reduce(inputShape) { $1.outputShape(for: $0) } }

    public func forward(_ input: Tensor) throws -> Tensor {
        let a = try main.reduce(input) { try $1.forward($0) }
        let b = try shortcut.reduce(input) { try $1.forward($0) }
        let total = sum.tensor(shape: a.shape)
        for i in 0..<total.count { total.pointer[i] = a.pointer[i] + b.pointer[i] }
        return finalReLU.forward(total)
    }

    public func backward(_ outputGradient: Tensor) throws -> Tensor? {
        let g = finalReLU.backward(outputGradient)!
        var mainGradient: Tensor? = g
        for layer in main.reversed() { mainGradient = try mainGradient.flatMap { try layer.backward($0) } }
        var shortcutGradient: Tensor? = g
        for layer in shortcut.reversed() { shortcutGradient = try shortcutGradient.flatMap { try layer.backward($0) } }
        guard needsInputGradient, let mainGradient, let shortcutGradient else { return nil }
        let result = inputGradient.tensor(shape: mainGradient.shape)
        for i in 0..<result.count { result.pointer[i] = mainGradient.pointer[i] + shortcutGradient.pointer[i] }
        return result
    }
}
