import Tensors

public enum ReferenceDense {
    public static func forward(input: [Float], n: Int, inputSize: Int, weights: [Float], bias: [Float], outputSize: Int) -> [Float] {
        var y = [Float](repeating: 0, count: n * outputSize)
        for b in 0..<n { for o in 0..<outputSize {
            var sum = bias[o]
            for i in 0..<inputSize { sum += input[b * inputSize + i] * weights[o * inputSize + i] }
            y[b * outputSize + o] = sum
        } }
        return y
    }
}
