import Foundation
import Tensors

/// Parameters updated at `learningRateScale` times the optimizer's rate, as PyTorch's parameter
/// groups: a pretrained backbone fine-tuned at a tenth of the new head's rate.
public struct ParameterGroup {
    public var parameters: [Parameter]
    public var learningRateScale: Float

    public init(_ parameters: [Parameter], learningRateScale: Float = 1) {
        self.parameters = parameters
        self.learningRateScale = learningRateScale
    }
}

/// Updates parameters from their gradients. Its per-parameter state is exposed by name so a
/// checkpoint can save it and a resumed run continue exactly.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    var stepCount: Int { get }
    /// One step for every group (one step count, one bias correction).
    func step(_ groups: [ParameterGroup])
    func stateTensors() -> [String: Tensor]
    func restore(stateTensors: [String: Tensor], stepCount: Int) throws
}

extension Optimizer {
    /// One step, every parameter at the optimizer's rate.
    public func step(_ parameters: [Parameter]) { step([ParameterGroup(parameters)]) }
}

public enum OptimizerStateError: Error, CustomStringConvertible {
    case mismatch(String)
    public var description: String { "the checkpoint's optimizer state does not fit this run: \(self.detail). Start without --resume, or resume with the same options." }
    private var detail: String { switch self { case let .mismatch(text): return text } }
}

/// SGD with momentum, optionally Nesterov, as in PyTorch and TensorFlow:
/// v ← μ·v + g; step = g + μ·v (Nesterov) or v; θ ← θ − lr·step.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public private(set) var stepCount = 0
    private var velocity: [String: Tensor] = [:]

    public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
    }

    public func step(_ groups: [ParameterGroup]) {
        for group in groups { for parameter in group.parameters {
            let learningRate = self.learningRate * group.learningRateScale
            let count = parameter.value.count
            let theta = parameter.value.pointer, g = parameter.gradient.pointer
            if momentum == 0 {
                for i in 0..<count { theta[i] -= learningRate * g[i] }
                continue
            }
            let v = velocity[parameter.name, default: Tensor(shape: parameter.value.shape)]
            velocity[parameter.name] = v
            let vp = v.pointer
            for i in 0..<count {
                vp[i] = momentum * vp[i] + g[i]
                theta[i] -= learningRate * (nesterov ? g[i] + momentum * vp[i] : vp[i])
            }
        } }
        stepCount += 1
    }

    public func stateTensors() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: velocity.map { ("sgd.velocity." + $0.key, $0.value) })
    }

    public func restore(stateTensors: [String: Tensor], stepCount: Int) throws {
        velocity = [:]
        for (key, tensor) in stateTensors where key.hasPrefix("sgd.velocity.") {
            velocity[String(key.dropFirst("sgd.velocity.".count))] = tensor
        }
        if momentum != 0 && stepCount > 0 && velocity.isEmpty { throw OptimizerStateError.mismatch("no SGD momentum buffers") }
        self.stepCount = stepCount
    }
}

/// Adam (Kingma & Ba) with bias correction and optional decoupled weight decay (AdamW).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    public private(set) var stepCount = 0
    private var firstMoment: [String: Tensor] = [:]
    private var secondMoment: [String: Tensor] = [:]

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func step(_ groups: [ParameterGroup]) {
        stepCount += 1
        let correction1 = 1 - powf(beta1, Float(stepCount))
        let correction2 = 1 - powf(beta2, Float(stepCount))
        for group in groups { for parameter in group.parameters {
            let learningRate = self.learningRate * group.learningRateScale
            let m = firstMoment[parameter.name, default: Tensor(shape: parameter.value.shape)]
            let v = secondMoment[parameter.name, default: Tensor(shape: parameter.value.shape)]
            firstMoment[parameter.name] = m
            secondMoment[parameter.name] = v
            let theta = parameter.value.pointer, g = parameter.gradient.pointer, mp = m.pointer, vp = v.pointer
            for i in 0..<parameter.value.count {
                mp[i] = beta1 * mp[i] + (1 - beta1) * g[i]
                vp[i] = beta2 * vp[i] + (1 - beta2) * g[i] * g[i]
                let update = (mp[i] / correction1) / ((vp[i] / correction2).squareRoot() + epsilon)
                theta[i] -= learningRate * (update + weightDecay * theta[i])
            }
        } }
    }

    public func stateTensors() -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for (name, tensor) in firstMoment { state["adam.m." + name] = tensor }
        for (name, tensor) in secondMoment { state["adam.v." + name] = tensor }
        return state
    }

    public func restore(stateTensors: [String: Tensor], stepCount: Int) throws {
        firstMoment = [:]
        secondMoment = [:]
        for (key, tensor) in stateTensors {
            if key.hasPrefix("adam.m.") { firstMoment[String(key.dropFirst(7))] = tensor }
            if key.hasPrefix("adam.v.") { secondMoment[String(key.dropFirst(7))] = tensor }
        }
        if stepCount > 0 && firstMoment.isEmpty { throw OptimizerStateError.mismatch("no Adam moments") }
        self.stepCount = stepCount
    }
}
