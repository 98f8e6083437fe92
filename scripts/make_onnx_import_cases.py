"""Small ONNX graphs for Akin's importer tests, built with onnx's helper API, with onnxruntime's
outputs beside them as the reference.

    python scripts/make_onnx_import_cases.py OUTDIR

For each case writes OUTDIR/<case>.onnx, <case>-input.npy (float32 [2, C, S, S]) and
<case>-output.npy (onnxruntime's output for that input, at the value the case's entry in
OUTDIR/cases.json names). Weights and batch-norm statistics are random (seeded), so an importer
that mixed up any of them would not match. Needs onnx, onnxruntime and numpy.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(5)


def weight(name, *shape, scale=0.4):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def batch_norm(prefix, x, channels, out):
    inits = [
        numpy_helper.from_array(rng.uniform(0.5, 1.5, channels).astype(np.float32), prefix + ".scale"),
        numpy_helper.from_array(rng.uniform(-0.3, 0.3, channels).astype(np.float32), prefix + ".bias"),
        numpy_helper.from_array(rng.uniform(-0.3, 0.3, channels).astype(np.float32), prefix + ".mean"),
        numpy_helper.from_array(rng.uniform(0.5, 2.0, channels).astype(np.float32), prefix + ".var"),
    ]
    node = helper.make_node("BatchNormalization", [x] + [i.name for i in inits], [out], name=prefix, epsilon=1e-3)
    return [node], inits


def scalar(name, value):
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def mobilenet_block():
    """A TensorFlow-style SAME stem (zero Pad of one row and column after, then Conv/BN/ReLU6 at stride
    2, as PyTorch exports EfficientNet-Lite's), a depthwise block with a residual sum, pooled, a classifier."""
    c = 8
    nodes, inits = [], [weight("stem.w", c, 3, 3, 3), weight("dw.w", c, 1, 3, 3), weight("pw.w", c, c, 1, 1),
                        weight("fc.w", 5, c), weight("fc.b", 5), scalar("zero", 0.0), scalar("six", 6.0),
                        numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 0, 1, 1], dtype=np.int64), "same")]
    nodes.append(helper.make_node("Pad", ["images", "same"], ["padded"], name="same.pad", mode="constant"))
    nodes.append(helper.make_node("Conv", ["padded", "stem.w"], ["stem"], name="stem", kernel_shape=[3, 3], strides=[2, 2]))
    n, i = batch_norm("stem.bn", "stem", c, "stem.n"); nodes += n; inits += i
    nodes.append(helper.make_node("Clip", ["stem.n", "zero", "six"], ["stem.r"], name="stem.relu6"))
    nodes.append(helper.make_node("Conv", ["stem.r", "dw.w"], ["dw"], name="depthwise", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=c))
    n, i = batch_norm("dw.bn", "dw", c, "dw.n"); nodes += n; inits += i
    nodes.append(helper.make_node("Clip", ["dw.n", "zero", "six"], ["dw.r"], name="dw.relu6"))
    nodes.append(helper.make_node("Conv", ["dw.r", "pw.w"], ["pw"], name="pointwise", kernel_shape=[1, 1]))
    n, i = batch_norm("pw.bn", "pw", c, "pw.n"); nodes += n; inits += i
    nodes.append(helper.make_node("Add", ["pw.n", "stem.r"], ["sum"], name="residual"))
    nodes.append(helper.make_node("GlobalAveragePool", ["sum"], ["pooled"], name="pool"))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], name="flatten", axis=1))
    nodes.append(helper.make_node("Gemm", ["features", "fc.w", "fc.b"], ["logits"], name="classifier", transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1))
    return nodes, inits, 3, 16, 13, "probabilities"


def squeeze_excitation_pools():
    """A squeeze-and-excitation gate (Sigmoid, Mul), max and average pools with padding and ceil
    mode, an even kernel, Reshape, and a Gemm with transB = 0, alpha and beta."""
    c = 6
    nodes, inits = [], [weight("c1.w", c, 2, 3, 3), weight("c1.b", c), weight("se1.w", 2, c, 1, 1), weight("se1.b", 2),
                        weight("se2.w", c, 2, 1, 1), weight("se2.b", c), weight("c2.w", c, c, 2, 2),
                        numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "flat"),
                        weight("fc.w", c, 4), scalar("fc.b", 0.25)]
    nodes.append(helper.make_node("Conv", ["images", "c1.w", "c1.b"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Relu", ["c1"], ["c1.r"], name="relu1"))
    nodes.append(helper.make_node("GlobalAveragePool", ["c1.r"], ["se.p"], name="se.squeeze"))
    nodes.append(helper.make_node("Conv", ["se.p", "se1.w", "se1.b"], ["se.1"], name="se.reduce", kernel_shape=[1, 1]))
    nodes.append(helper.make_node("Relu", ["se.1"], ["se.1r"], name="se.relu"))
    nodes.append(helper.make_node("Conv", ["se.1r", "se2.w", "se2.b"], ["se.2"], name="se.expand", kernel_shape=[1, 1]))
    nodes.append(helper.make_node("Sigmoid", ["se.2"], ["se.g"], name="se.gate"))
    nodes.append(helper.make_node("Mul", ["se.g", "c1.r"], ["se"], name="se.scale"))
    nodes.append(helper.make_node("MaxPool", ["se"], ["mp"], name="maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("AveragePool", ["mp"], ["ap"], name="avgpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                  ceil_mode=1, count_include_pad=0))
    nodes.append(helper.make_node("Conv", ["ap", "c2.w"], ["c2"], name="conv2x2", kernel_shape=[2, 2], auto_pad="VALID"))
    nodes.append(helper.make_node("GlobalAveragePool", ["c2"], ["pooled"], name="pool"))
    nodes.append(helper.make_node("Reshape", ["pooled", "flat"], ["features"], name="reshape"))
    nodes.append(helper.make_node("Gemm", ["features", "fc.w", "fc.b"], ["embedding"], name="projection", alpha=0.5, beta=2.0))
    return nodes, inits, 2, 18, 17, "embedding"


def same_padding_dilation():
    """TensorFlow's SAME padding at stride 2 on an odd size, Clip with attribute bounds (opset 9),
    a dilated convolution, Dropout and Identity, an average pool counting its padding."""
    c = 4
    nodes, inits = [], [weight("c1.w", c, 1, 3, 3), weight("c1.b", c), weight("c2.w", c, c, 3, 3)]
    nodes.append(helper.make_node("Conv", ["images", "c1.w", "c1.b"], ["c1"], name="same", kernel_shape=[3, 3], strides=[2, 2],
                                  auto_pad="SAME_UPPER"))
    nodes.append(helper.make_node("Clip", ["c1"], ["c1.r"], name="relu6", min=0.0, max=6.0))
    nodes.append(helper.make_node("Conv", ["c1.r", "c2.w"], ["c2"], name="dilated", kernel_shape=[3, 3], dilations=[2, 2], pads=[2, 2, 2, 2]))
    nodes.append(helper.make_node("Dropout", ["c2"], ["d"], name="dropout", ratio=0.2))
    nodes.append(helper.make_node("Identity", ["d"], ["i"], name="identity"))
    nodes.append(helper.make_node("AveragePool", ["i"], ["ap"], name="avgpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                  count_include_pad=1))
    nodes.append(helper.make_node("GlobalAveragePool", ["ap"], ["pooled"], name="pool"))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], name="flatten"))
    return nodes, inits, 1, 15, 9, "features"


def unsupported():
    """A Softmax over channels before the pooled features: refused by name and position."""
    nodes = [helper.make_node("Conv", ["images", "c.w"], ["c"], name="conv", kernel_shape=[1, 1]),
             helper.make_node("Softmax", ["c"], ["s"], name="channel-softmax", axis=1),
             helper.make_node("GlobalAveragePool", ["s"], ["pooled"], name="pool"),
             helper.make_node("Flatten", ["pooled"], ["features"], name="flatten")]
    return nodes, [weight("c.w", 3, 3, 1, 1)], 3, 8, 13, "features"


def main(out):
    cases = {}
    for name, build in [("mobilenet_block", mobilenet_block), ("squeeze_excitation_pools", squeeze_excitation_pools),
                        ("same_padding_dilation", same_padding_dilation), ("unsupported", unsupported)]:
        nodes, inits, channels, size, opset, output = build()
        graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", channels, size, size])],
                                  [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", "d"])], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="akin-tests")
        model.ir_version = 7
        onnx.checker.check_model(model)
        onnx.save(model, f"{out}/{name}.onnx")
        images = rng.standard_normal((2, channels, size, size)).astype(np.float32)
        np.save(f"{out}/{name}-input.npy", images)
        # Every value the tests may end at: the declared output and the named intermediate ones.
        wanted = {"mobilenet_block": ["features", "logits"], "squeeze_excitation_pools": ["embedding", "features"],
                  "same_padding_dilation": ["features"], "unsupported": []}[name]
        outputs = {}
        for value in wanted:
            probe = onnx.load(f"{out}/{name}.onnx")
            del probe.graph.output[:]
            probe.graph.output.append(helper.make_tensor_value_info(value, TensorProto.FLOAT, ["batch", "d"]))
            (result,) = onnxruntime.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"images": images})
            np.save(f"{out}/{name}-{value}.npy", result)
            outputs[value] = list(result.shape)
        cases[name] = {"channels": channels, "size": size, "opset": opset, "outputs": outputs}
    with open(f"{out}/cases.json", "w") as f:
        json.dump(cases, f)
    print(json.dumps(cases))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
