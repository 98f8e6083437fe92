import Tensors

public enum Initialization {
    /// Xavier/Glorot uniform for every weight (limit √(6 / (fan_in + fan_out)), counting the
    /// kernel's receptive field as TensorFlow does), zero for every bias.
    public static func xavierUniform(_ network: Sequential, using generator: inout RandomGenerator) {
        for layer in network.layers {
            let weight: Parameter, bias: Parameter, fanIn: Int, fanOut: Int
            switch layer {
            case let conv as Conv2D:
                let field = conv.kernelSize * conv.kernelSize
                (weight, bias, fanIn, fanOut) = (conv.weight, conv.bias, conv.inputChannels * field, conv.outputChannels * field)
            case let dense as Dense:
                (weight, bias, fanIn, fanOut) = (dense.weight, dense.bias, dense.inputSize, dense.outputSize)
            default:
                continue
            }
            let limit = (6 / Float(fanIn + fanOut)).squareRoot()
            let w = weight.value.pointer
            for i in 0..<weight.value.count { w[i] = (generator.nextFloat() * 2 - 1) * limit }
            bias.value.fill(0)
        }
    }
}
