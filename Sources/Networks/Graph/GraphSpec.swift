/// One operation of an imported network's graph, with everything needed to build its layer
/// except the input shape, which the graph works out.
public enum GraphOperation: Codable, Equatable, Sendable {
    /// Square kernel; `padding` top/left, `paddingEnd` bottom/right; groups = channels is depthwise.
    case convolution(outputChannels: Int, kernel: Int, stride: Int, padding: Int, paddingEnd: Int, dilation: Int, groups: Int, bias: Bool)
    /// Batch normalisation over channels (trains as BatchNorm2D, embeds with running statistics).
    case batchNorm(epsilon: Float)
    case relu
    case clip(low: Float, high: Float)
    case sigmoid
    /// Elementwise sum of two values of one shape (residual connections).
    case add
    /// Elementwise product; the second value may be [N, C, 1, 1] against a [N, C, H, W] first
    /// (squeeze-and-excitation's channel gate), in either order.
    case multiply
    case maxPool(kernel: Int, stride: Int, padding: Int, paddingEnd: Int, ceilMode: Bool)
    case averagePool(kernel: Int, stride: Int, padding: Int, paddingEnd: Int, ceilMode: Bool, countIncludePad: Bool)
    /// [N, C, H, W] → [N, C, 1, 1], as ONNX's GlobalAveragePool.
    case globalAveragePool
    /// [N, …] → [N, product of the rest].
    case flatten
    /// y = x Wᵀ + b on [N, D] (ONNX's Gemm with transB, or a MatMul and Add).
    case dense(units: Int)
}

extension GraphOperation {
    /// The operation's name in messages and summaries ("convolution", "add", …).
    public var kindName: String {
        switch self {
        case .convolution: "convolution"
        case .batchNorm: "batch norm"
        case .relu: "ReLU"
        case .clip: "clip"
        case .sigmoid: "sigmoid"
        case .add: "add"
        case .multiply: "multiply"
        case .maxPool: "max pool"
        case .averagePool: "average pool"
        case .globalAveragePool: "global average pool"
        case .flatten: "flatten"
        case .dense: "dense"
        }
    }
}

/// A node: an operation applied to earlier values. Value 0 is the graph's input, value i + 1 the
/// output of node i; nodes only read values before their own.
public struct GraphNode: Codable, Equatable, Sendable {
    /// The name it had where it came from (an ONNX node's name), for messages.
    public var name: String
    public var operation: GraphOperation
    public var inputs: [Int]

    public init(name: String, operation: GraphOperation, inputs: [Int]) {
        self.name = name
        self.operation = operation
        self.inputs = inputs
    }
}

/// A network as a graph of operations on one image batch: what `akin import onnx` reads into
/// Akin. Weights are named `<prefix>nodes.<i>.<weight|bias|running_mean|running_var>`.
public struct GraphSpec: Codable, Equatable, Sendable {
    public var nodes: [GraphNode]
    /// The value the network outputs (usually the last node's, `nodes.count`).
    public var output: Int
    /// Set when some padding was worked out for one image size (ONNX's auto_pad SAME): the graph
    /// then runs at that size only.
    public var paddingImageSize: Int?

    /// Bounds on kernels, strides, dilations and padding (and `largestChannels` on channels), so
    /// that a file from elsewhere cannot ask for arithmetic that overflows or memory beyond reason.
    public static let largestExtent = 4096
    public static let largestChannels = 65536
    /// Largest number of values of one intermediate tensor per image.
    public static let largestValuesPerImage = 1 << 28

    public init(nodes: [GraphNode], output: Int) {
        self.nodes = nodes
        self.output = output
    }

    /// Why this graph cannot be built on a [C, H, W] input, or nil: checked before any layer
    /// exists, since model files may come from elsewhere.
    public func problem(inputShape: [Int]) -> String? {
        guard !nodes.isEmpty, (1...nodes.count).contains(output) else { return "the graph has no nodes or its output is not one of them" }
        if let paddingImageSize, inputShape.count == 3, inputShape[1] != paddingImageSize {
            return "its SAME padding was worked out for \(paddingImageSize)-pixel images, not \(inputShape[1]): import it again with --image-size \(inputShape[1])"
        }
        guard inputShape.allSatisfy({ (1...Self.largestExtent).contains($0) }) else { return "input \(inputShape) is outside what Akin runs" }
        let extent = 1...Self.largestExtent
        var shapes: [[Int]] = [[1] + inputShape]
        for (index, node) in nodes.enumerated() {
            let label = "node \(index) (\(node.name))"
            let arity = node.operation == .add || node.operation == .multiply ? 2 : 1
            guard node.inputs.count == arity, node.inputs.allSatisfy({ (0...index).contains($0) }) else {
                return "\(label) needs \(arity) input(s) from earlier values, not \(node.inputs)"
            }
            let first = shapes[node.inputs[0]]
            switch node.operation {
            case let .convolution(outputs, kernel, stride, padding, paddingEnd, dilation, groups, _):
                guard first.count == 4 else { return "\(label): a convolution needs [N, C, H, W], not \(first)" }
                guard (1...Self.largestChannels).contains(outputs), extent.contains(kernel), extent.contains(stride), extent.contains(dilation),
                      groups >= 1, (0...Self.largestExtent).contains(padding), (0...Self.largestExtent).contains(paddingEnd),
                      first[1] % groups == 0, outputs % groups == 0 else {
                    return "\(label): convolution of \(first[1]) channels to \(outputs) in \(groups) groups, kernel \(kernel), stride \(stride), dilation \(dilation), padding \(padding)/\(paddingEnd) is not valid"
                }
            case let .maxPool(kernel, stride, padding, paddingEnd, _), let .averagePool(kernel, stride, padding, paddingEnd, _, _):
                guard first.count == 4, extent.contains(kernel), extent.contains(stride), padding >= 0, paddingEnd >= 0, padding < kernel, paddingEnd < kernel else {
                    return "\(label): pooling with kernel \(kernel), stride \(stride), padding \(padding)/\(paddingEnd) on \(first) is not valid"
                }
            case .batchNorm, .globalAveragePool:
                guard first.count == 4 else { return "\(label) needs [N, C, H, W], not \(first)" }
            case .dense(let units):
                guard first.count == 2, (1...Self.largestChannels).contains(units) else {
                    return "\(label): a dense layer needs [N, D] and 1 to \(Self.largestChannels) units, not \(first) and \(units)"
                }
            case .add:
                guard shapes[node.inputs[1]] == first else { return "\(label) adds \(first) and \(shapes[node.inputs[1]]): the shapes must be equal" }
            case .multiply:
                let second = shapes[node.inputs[1]]
                guard second == first || GraphNetwork.broadcastsOverPlanes(first, second) || GraphNetwork.broadcastsOverPlanes(second, first) else {
                    return "\(label) multiplies \(first) by \(second): Akin multiplies equal shapes or [N, C, H, W] by [N, C, 1, 1]"
                }
            case .relu, .clip, .sigmoid, .flatten: break
            }
            let shape = GraphNetwork.outputShape(of: node.operation, inputs: node.inputs.map { shapes[$0] })
            guard shape.allSatisfy({ $0 >= 1 }) else { return "\(label) gives the empty shape \(shape) on this input" }
            guard shape.dropFirst().allSatisfy({ $0 <= Self.largestValuesPerImage }),
                  shape.dropFirst().reduce(1, { $0 <= Self.largestValuesPerImage ? $0 * $1 : $0 }) <= Self.largestValuesPerImage else {
                return "\(label) gives \(shape), more values per image than Akin holds (\(Self.largestValuesPerImage))"
            }
            shapes.append(shape)
        }
        guard shapes[output].count == 2 else { return "its output is \(shapes[output].dropFirst()) per image, not one vector" }
        return nil
    }
}
