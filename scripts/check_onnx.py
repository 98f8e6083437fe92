"""Checks an ONNX model written by `akin export onnx` with the reference tools, and compares its
embeddings with Akin's.

    python scripts/check_onnx.py MODEL.onnx PIXELS.npy EXPECTED.npy

PIXELS.npy: float32 [N, C, S, S] raw pixel values 0-255 (decoded and resized images, planar).
EXPECTED.npy: float32 [N, D], the embeddings Akin computed for the same images.

The model must pass onnx's full checker (shape inference included); the input is made from the
pixels with nothing but the model's own metadata_props (input_scale, mean, std), as a program
that knows only the .onnx file would; onnxruntime then runs it. Prints one JSON line: the
largest absolute difference from EXPECTED, the output shape, the opset and the metadata keys.
Needs the onnx and onnxruntime packages (README's first command installs them in the test venv).
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime


def main(model_path, pixels_path, expected_path):
    onnx.checker.check_model(model_path, full_check=True)
    model = onnx.load(model_path)
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    channels = int(metadata["input_channels"])
    size = int(metadata["input_size"])
    scale = float(metadata["input_scale"])
    mean = np.array([float(v) for v in metadata["mean"].split(",")], dtype=np.float32)
    std = np.array([float(v) for v in metadata["std"].split(",")], dtype=np.float32)

    pixels = np.load(pixels_path).astype(np.float32)
    if pixels.shape[1:] != (channels, size, size):
        raise SystemExit(f"pixels have shape {pixels.shape}, the model's metadata says [N, {channels}, {size}, {size}]")
    images = ((pixels * scale - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32)

    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    (output,) = session.run(["embedding"], {"images": images})
    expected = np.load(expected_path)
    if output.shape != expected.shape:
        raise SystemExit(f"onnxruntime gave shape {output.shape}, Akin {expected.shape}")
    difference = float(np.abs(output - expected).max())
    print(json.dumps({
        # null when any output is NaN (JSON has no NaN).
        "max_abs_diff": difference if np.isfinite(difference) else None,
        "finite": bool(np.isfinite(output).all()),
        "shape": list(output.shape),
        "opset": [entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")],
        "operators": sorted({node.op_type for node in model.graph.node}),
        "metadata": sorted(metadata),
    }))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
