import Tensors

public enum ReferenceReLU {
    public static func forward(_ x: [Float]) -> [Float] { x.map { max(0, $0) } }
    public static func backward(output: [Float], outputGradient: [Float]) -> [Float] {
        zip(output, outputGradient).map { $0 > 0 ? $1 : 0 }
    }
}
