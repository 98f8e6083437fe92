import Networks
import Tensors
import Testing

@Suite("Optimizers")
struct OptimizerTests {
    func parameter(_ value: Float, gradient: Float) -> Parameter {
        let p = Parameter(name: "p", value: Tensor(shape: [1], values: [value]))
        p.gradient[0] = gradient
        return p
    }

    @Test func nesterovMatchesHandComputation() {
        // PyTorch's definition: v = μv + g; θ -= lr (g + μ v).
        let p = parameter(1, gradient: 0.5)
        let sgd = SGD(learningRate: 0.1, momentum: 0.9, nesterov: true)
        sgd.step([p])                          // v = 0.5, θ = 1 − 0.1(0.5 + 0.45) = 0.905
        #expect(abs(p.value[0] - 0.905) < 1e-6)
        p.gradient[0] = 0.2
        sgd.step([p])                          // v = 0.65, θ = 0.905 − 0.1(0.2 + 0.585) = 0.8265
        #expect(abs(p.value[0] - 0.8265) < 1e-6)
    }

    @Test func adamFirstStepMovesByLearningRate() {
        // With bias correction the first step is lr·sign(g) (up to ε).
        let p = parameter(1, gradient: -3)
        Adam(learningRate: 0.01).step([p])
        #expect(abs(p.value[0] - 1.01) < 1e-6)
    }

    @Test func stateRoundTrips() throws {
        let p = parameter(1, gradient: 0.5)
        let a = SGD(learningRate: 0.1, momentum: 0.9, nesterov: true)
        a.step([p])
        let b = SGD(learningRate: 0.1, momentum: 0.9, nesterov: true)
        try b.restore(stateTensors: a.stateTensors().mapValues { $0.clone() }, stepCount: a.stepCount)
        let q = parameter(p.value[0], gradient: 0.2)
        p.gradient[0] = 0.2
        a.step([p])
        b.step([q])
        #expect(p.value[0] == q.value[0])
    }
}
