/// A branching network that `GraphKernel` runs as one oneDNN program: convolutions (grouped,
/// strided, dilated, with an elementwise function fused after them), elementwise functions,
/// residual sums and global average pooling — the body of MobileNet- and EfficientNet-Lite-style
/// networks. Value 0 is the input batch; value i + 1 is node i's output; the last node's value is
/// the output. Nodes read only earlier values.
public struct GraphKernelPlan: Hashable, Sendable {
    public enum Activation: Hashable, Sendable {
        case relu
        /// min(max(x, low), high): ReLU6 is (0, 6).
        case clip(low: Float, high: Float)
        case sigmoid
    }

    public enum Operation: Hashable, Sendable {
        /// OIHW weights ([O, I / groups, k, k]) and an optional bias; `activation` is applied to
        /// the result inside the convolution's primitive.
        case convolution(outputChannels: Int, kernelSize: Int, stride: Int, padding: Int, paddingEnd: Int, dilation: Int,
                         groups: Int, bias: Bool, activation: Activation?)
        case activation(Activation)
        /// Two values of one shape.
        case add
        /// [N, C, H, W] → [N, C, 1, 1].
        case globalAveragePool
        /// Max (padding never wins) or average (padding counted in the divisor only with
        /// `countPadding`) over a square window; `paddingEnd` is whatever makes the output size
        /// right, ceil mode included.
        case pool(maximum: Bool, kernelSize: Int, stride: Int, padding: Int, paddingEnd: Int, countPadding: Bool)
    }

    public struct Node: Hashable, Sendable {
        /// For error messages: where the node came from.
        public var name: String
        public var operation: Operation
        public var inputs: [Int]

        public init(name: String, operation: Operation, inputs: [Int]) {
            self.name = name
            self.operation = operation
            self.inputs = inputs
        }
    }

    public var inputChannels: Int
    public var nodes: [Node]

    public init(inputChannels: Int, nodes: [Node]) {
        precondition(!nodes.isEmpty, "a graph kernel needs at least one node")
        for (index, node) in nodes.enumerated() {
            let arity = node.operation == .add ? 2 : 1
            precondition(node.inputs.count == arity && node.inputs.allSatisfy { (0...index).contains($0) },
                         "node \(index) (\(node.name)) reads \(node.inputs): it needs \(arity) earlier value(s)")
        }
        self.inputChannels = inputChannels
        self.nodes = nodes
    }

    /// The [N, C, H, W] shape of every value on an input of `inputShape`: the input's, then each node's.
    public func valueShapes(input inputShape: [Int]) -> [[Int]] {
        var shapes = [inputShape]
        for node in nodes {
            let x = shapes[node.inputs[0]]
            switch node.operation {
            case let .convolution(outputs, kernel, stride, padding, paddingEnd, dilation, _, _, _):
                let size = { (n: Int) in (n + padding + paddingEnd - ((kernel - 1) * dilation + 1)) / stride + 1 }
                shapes.append([x[0], outputs, size(x[2]), size(x[3])])
            case .activation, .add: shapes.append(x)
            case .globalAveragePool: shapes.append([x[0], x[1], 1, 1])
            case let .pool(_, kernel, stride, padding, paddingEnd, _):
                let size = { (n: Int) in (n + padding + paddingEnd - kernel) / stride + 1 }
                shapes.append([x[0], x[1], size(x[2]), size(x[3])])
            }
        }
        return shapes
    }
}

extension GraphKernelPlan.Operation {
    public var isConvolution: Bool { if case .convolution = self { true } else { false } }
}

extension GraphKernelPlan.Activation {
    var function: EltwiseFunction {
        switch self {
        case .relu: .relu
        case let .clip(low, high): .clip(low: low, high: high)
        case .sigmoid: .sigmoid
        }
    }
}

/// Where one convolution keeps its parameters and their gradients (plain OIHW weights, [O]
/// bias). The storage must outlive the kernel.
public struct ConvolutionParameterBuffers {
    public var weight: UnsafeMutablePointer<Float>
    public var bias: UnsafeMutablePointer<Float>?
    public var weightGradient: UnsafeMutablePointer<Float>
    public var biasGradient: UnsafeMutablePointer<Float>?

    public init(weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?, weightGradient: UnsafeMutablePointer<Float>,
                biasGradient: UnsafeMutablePointer<Float>?) {
        self.weight = weight
        self.bias = bias
        self.weightGradient = weightGradient
        self.biasGradient = biasGradient
    }
}
