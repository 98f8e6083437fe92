import Tensors

public enum Initialization {
    /// Xavier/Glorot uniform for every weight (limit √(6 / (fan_in + fan_out)), counting the
    /// kernel's receptive field as TensorFlow does), zero for every bias.
    public static func xavierUniform(_ network: Sequential, using generator: inout RandomGenerator) {
        // Weights in parameter order, whichever layers hold them: [O, I, k, k] or [O, I].
        for parameter in network.parameters where parameter.value.shape.count >= 2 {
            let shape = parameter.value.shape
            let field = shape.dropFirst(2).reduce(1, *)
            let weight = parameter, fanIn = shape[1] * field, fanOut = shape[0] * field
            let limit = (6 / Float(fanIn + fanOut)).squareRoot()
            let w = weight.value.pointer
            for i in 0..<weight.value.count { w[i] = (generator.nextFloat() * 2 - 1) * limit }
        }
        for parameter in network.parameters where parameter.value.shape.count == 1 { parameter.value.fill(0) }
    }
}
