import Tensors

public enum LayerSpec: Codable, Equatable, Sendable {
    case conv2d(filters: Int, kernel: Int)
    case relu
    case maxPool2x2
    case flatten
    case dense(units: Int)
    case l2Normalize
    /// A small ResNet: 3×3 stem of `stemWidth` channels with batch norm and ReLU, basic blocks,
    /// global average pooling. [N, C, H, W] → [N, last width].
    case residual(stemWidth: Int, stages: [ResidualStage])
    /// A network read from elsewhere (`akin import onnx`) as a graph of operations; the first layer.
    case graph(GraphSpec)
}

extension LayerSpec {
    /// Part of a projection head, which `EmbeddingSource.features` leaves out.
    var isProjectionHead: Bool {
        switch self {
        case .dense, .l2Normalize: true
        default: false
        }
    }

    /// Ends in one flat vector of features per image, which can stand in for the head's output.
    var givesPooledFeatures: Bool {
        switch self {
        case .flatten, .residual, .graph: true
        default: false
        }
    }
}

/// Which output of the network is the embedding that galleries store and searches compare.
public enum EmbeddingSource: String, Codable, Sendable, CaseIterable {
    /// The last layer's: what the training loss saw.
    case head
    /// The pooled features before the projection head (the trailing dense and unit-length layers).
    /// The head serves the loss only, as in SimCLR; the features it projects away carry better to
    /// classes the network never saw.
    case features
}

/// What a network is, independent of its weights: stored in every model file so the file alone
/// rebuilds the network.
public struct Architecture: Codable, Equatable, Sendable {
    public var name: String
    public var inputChannels: Int
    public var inputSize: Int
    public var layers: [LayerSpec]
    /// nil (files written before it existed) means `.head`.
    public var embeddingSource: EmbeddingSource?

    public init(name: String, inputChannels: Int, inputSize: Int, layers: [LayerSpec], embeddingSource: EmbeddingSource? = nil) {
        self.name = name
        self.inputChannels = inputChannels
        self.inputSize = inputSize
        self.layers = layers
        self.embeddingSource = embeddingSource
    }

    /// The seed article's network: conv7×7×32 → pool → conv5×5×64 → pool → conv3×3×128 → pool →
    /// conv1×1×256 → pool → conv1×1×D (no ReLU) → pool → flatten. At 28×28 the pools go
    /// 28→14→7→4→2→1, so the output is exactly D numbers.
    public static func seed(channels: Int, imageSize: Int = 28, embeddingDimension: Int = 28) -> Architecture {
        Architecture(name: "seed", inputChannels: channels, inputSize: imageSize, layers: [
            .conv2d(filters: 32, kernel: 7), .relu, .maxPool2x2,
            .conv2d(filters: 64, kernel: 5), .relu, .maxPool2x2,
            .conv2d(filters: 128, kernel: 3), .relu, .maxPool2x2,
            .conv2d(filters: 256, kernel: 1), .relu, .maxPool2x2,
            .conv2d(filters: embeddingDimension, kernel: 1), .maxPool2x2,
            .flatten,
        ])
    }

    /// A small ResNet for 28–128-pixel images: widths 32-64-128 by default, one basic block per
    /// stage, strides 1-2-2, global average pooling, a linear projection to D, then (by default)
    /// unit length, so that L2 and cosine rank alike.
    public static func residual(channels: Int, imageSize: Int = 28, widths: [Int] = [32, 64, 128], blocks: [Int] = [1, 1, 1],
                                embeddingDimension: Int = 64, normalize: Bool = true) -> Architecture {
        precondition(widths.count == blocks.count && !widths.isEmpty)
        let stages = widths.indices.map { ResidualStage(width: widths[$0], blocks: blocks[$0], stride: $0 == 0 ? 1 : 2) }
        var layers: [LayerSpec] = [.residual(stemWidth: widths[0], stages: stages), .dense(units: embeddingDimension)]
        if normalize { layers.append(.l2Normalize) }
        return Architecture(name: "resnet", inputChannels: channels, inputSize: imageSize, layers: layers)
    }

    public var inputShape: [Int] { [inputChannels, inputSize, inputSize] }

    /// Why this architecture cannot be built, or nil. Model files may come from another version or
    /// another hand, so they are checked before any layer exists.
    public var problem: String? {
        guard inputChannels >= 1 && inputChannels <= 4, inputSize >= 1 else { return "input \(inputChannels)×\(inputSize)×\(inputSize)" }
        for (index, layer) in layers.enumerated() {
            switch layer {
            case let .conv2d(filters, kernel) where filters < 1 || kernel < 1 || kernel % 2 == 0:
                return "layer \(index): a convolution needs filters ≥ 1 and an odd kernel, not \(filters) and \(kernel)"
            case let .dense(units) where units < 1:
                return "layer \(index): a dense layer needs units ≥ 1, not \(units)"
            case let .residual(stemWidth, stages):
                if stemWidth < 1 { return "layer \(index): the ResNet stem width \(stemWidth) is not positive" }
                if stages.isEmpty { return "layer \(index): a ResNet needs a stage" }
                for stage in stages where stage.width < 1 || stage.blocks < 1 || !(1...2).contains(stage.stride) {
                    return "layer \(index): a ResNet stage needs a width ≥ 1, blocks ≥ 1 and stride 1 or 2, not \(stage)"
                }
            case let .graph(spec):
                guard index == 0 else { return "layer \(index): an imported graph must be the first layer" }
                if let problem = spec.problem(inputShape: inputShape) { return "layer 0, the imported graph: \(problem)" }
            default: continue
            }
        }
        if embeddingSource == .features {
            let head = layers.suffix(headLayerCount), body = layers.dropLast(headLayerCount)
            guard head.contains(where: { $0 != .l2Normalize }), body.last?.givesPooledFeatures == true else {
                return "embedding source features: the network needs pooled features followed by a dense projection head"
            }
        }
        return nil
    }

    /// The layers before the projection head: what a fine-tuned model keeps of a pretrained one.
    public var layersBeforeHead: [LayerSpec] { Array(layers.dropLast(headLayerCount)) }

    /// The trailing dense and unit-length layers: the projection head that `.features` leaves out.
    var headLayerCount: Int { layers.reversed().prefix(while: \.isProjectionHead).count }

    /// How many of `network`'s layers (as built from this architecture) an embedding passes through.
    /// Building fuses or expands only the layers before the head, so the head's layers end both lists.
    public func embeddingDepth(of network: Sequential) -> Int {
        network.layers.count - (embeddingSource == .features ? headLayerCount : 0)
    }

    /// Size of the embedding per image: `outputDimension`, or with `.features` the pooled width.
    public var embeddingDimension: Int {
        let network = build(fused: false)
        return network.outputShape(for: [1] + inputShape, through: embeddingDepth(of: network)).dropFirst().reduce(1, *)
    }

    /// Builds the layers with zero weights; `initialize` or a model file fills them. By default
    /// each run of convolution (→ ReLU) (→ pool) layers becomes one `ConvolutionStack` in oneDNN's
    /// layouts; `fused: false` builds every layer on its own, as the reference.
    public func build(fused: Bool = true) -> Sequential {
        var shape = [1] + inputShape
        var built: [Layer] = []
        var index = 0
        while index < layers.count {
            if fused, case .conv2d = layers[index] {
                var stages: [ConvolutionStage] = [], names: [String] = []
                while index < layers.count, case let .conv2d(filters, kernel) = layers[index] {
                    names.append("layers.\(index)")
                    index += 1
                    let relu = index < layers.count && layers[index] == .relu
                    if relu { index += 1 }
                    let pool = index < layers.count && layers[index] == .maxPool2x2
                    if pool { index += 1 }
                    stages.append(ConvolutionStage(outputChannels: filters, kernelSize: kernel, relu: relu, pool: pool))
                }
                let stack = ConvolutionStack(inputChannels: shape[1], stages: stages, names: names)
                shape = stack.outputShape(for: shape)
                built.append(stack)
                continue
            }
            let spec = layers[index]
            let name = "layers.\(index)"
            let layer: Layer
            switch spec {
            case let .conv2d(filters, kernel):
                layer = Conv2D(inputChannels: shape[1], outputChannels: filters, kernelSize: kernel, name: name)
            case .relu: layer = ReLU()
            case .maxPool2x2: layer = MaxPool2D()
            case .flatten: layer = Flatten()
            case let .dense(units): layer = Dense(inputSize: shape[1], outputSize: units, name: name)
            case .l2Normalize: layer = L2Normalize()
            case let .graph(spec): layer = GraphNetwork(spec: spec, inputShape: Array(shape.dropFirst()), prefix: name + ".")
            case let .residual(stemWidth, stages):
                let plan = ResidualPlan(inputChannels: shape[1], stemWidth: stemWidth, stages: stages)
                if fused {
                    layer = ResidualNetwork(plan: plan, prefix: name + ".")
                } else {
                    let stem = plan.units[0]
                    let expanded: [Layer] = [
                        Conv2D(inputChannels: stem.inputChannels, outputChannels: stem.outputChannels, kernelSize: stem.kernelSize,
                               bias: false, name: name + ".stem"),
                        BatchNorm2D(channels: stem.outputChannels, name: name + ".stem.norm"), ReLU(),
                    ] + plan.blocks.map { ResidualBlock(plan: plan, block: $0, prefix: name + ".") } + [GlobalAveragePool()]
                    for layer in expanded { shape = layer.outputShape(for: shape) }
                    built += expanded
                    index += 1
                    continue
                }
            }
            shape = layer.outputShape(for: shape)
            built.append(layer)
            index += 1
        }
        return Sequential(built)
    }

    /// Size of the output vector per image.
    public var outputDimension: Int { build(fused: false).outputShape(for: [1] + inputShape).dropFirst().reduce(1, *) }
}
