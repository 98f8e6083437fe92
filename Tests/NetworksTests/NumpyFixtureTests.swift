import TestSupport
import Networks
import Tensors
import Testing

@Suite("Layers against numpy")
struct NumpyFixtureTests {
    @Test func convolutionAndPooling() throws {
        let fixture = try Fixture.json("numpy_layers.json")
        let conv = fixture["conv"] as! [String: Any]
        let inputShape = Fixture.ints(conv["input_shape"]), weightShape = Fixture.ints(conv["weight_shape"])
        let layer = Conv2D(inputChannels: weightShape[1], outputChannels: weightShape[0], kernelSize: weightShape[2], name: "c")
        layer.weight.value.copy(from: Tensor(shape: weightShape, values: Fixture.floats(conv["weight"])))
        layer.bias!.value.copy(from: Tensor(shape: [weightShape[0]], values: Fixture.floats(conv["bias"])))
        let output = try layer.forward(Tensor(shape: inputShape, values: Fixture.floats(conv["input"]))).array
        let expected = Fixture.floats(conv["output"])
        #expect(zip(output, expected).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })

        let pool = fixture["pool"] as! [String: Any]
        let pooled = MaxPool2D().forward(Tensor(shape: Fixture.ints(pool["input_shape"]), values: Fixture.floats(pool["input"])))
        #expect(pooled.array == Fixture.floats(pool["output"]))
    }
}
