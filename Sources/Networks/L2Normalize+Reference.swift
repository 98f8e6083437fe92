import Tensors

public enum ReferenceL2Normalize {
    public static func forward(_ x: [Float], n: Int, d: Int) -> [Float] {
        var y = x
        for row in 0..<n {
            var sum: Float = 0
            for j in 0..<d { sum += x[row * d + j] * x[row * d + j] }
            let norm = (sum + L2Normalize.epsilon).squareRoot()
            for j in 0..<d { y[row * d + j] = x[row * d + j] / norm }
        }
        return y
    }
}
