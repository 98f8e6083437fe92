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

extension Initialization {
    /// torchvision's ResNet scheme: Kaiming-normal convolution weights (fan-out, gain √2),
    /// batch norm γ = 1 and β = 0, Xavier-uniform linear weights, zero biases.
    public static func kaimingNormal(_ network: Sequential, using generator: inout RandomGenerator) {
        for parameter in network.parameters {
            let shape = parameter.value.shape, w = parameter.value.pointer
            switch shape.count {
            case 4:
                let std = (2 / Float(shape[0] * shape[2] * shape[3])).squareRoot()
                for i in 0..<parameter.value.count { w[i] = generator.nextGaussian() * std }
            case 2:
                let limit = (6 / Float(shape[0] + shape[1])).squareRoot()
                for i in 0..<parameter.value.count { w[i] = (generator.nextFloat() * 2 - 1) * limit }
            default:
                parameter.value.fill(parameter.name.hasSuffix(".norm.weight") ? 1 : 0)
            }
        }
        for buffer in network.buffers { buffer.value.fill(buffer.name.hasSuffix("running_var") ? 1 : 0) }
    }
}
