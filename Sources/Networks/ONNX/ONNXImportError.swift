/// Why an ONNX file cannot become an Akin network; each names the file and, for an operator, its
/// position and name in the graph.
public enum ONNXImportError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notAModel(path: String, reason: String)
    case unsupportedOperator(path: String, position: Int, name: String, operatorType: String)
    case unsupportedUse(path: String, position: Int, name: String, operatorType: String, reason: String)

    public static let supportedOperators = ["Conv", "BatchNormalization", "Relu", "Clip", "Sigmoid", "Mul", "Add", "MaxPool",
                                            "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Gemm", "Identity", "Dropout", "Pad",
                                            "Constant"]

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .notAModel(path, reason): return "\(path) is not an ONNX model Akin can import: \(reason)"
        case let .unsupportedOperator(path, position, name, type):
            return "\(path): node \(position) (\(name.isEmpty ? "unnamed" : name)) is a \(type), which Akin cannot run. Akin imports convolutional networks made of \(Self.supportedOperators.joined(separator: ", ")); choose an earlier output with --output, or export the network without that operator."
        case let .unsupportedUse(path, position, name, type, reason):
            return "\(path): node \(position) (\(name.isEmpty ? "unnamed" : name)), a \(type): \(reason)"
        }
    }
}
