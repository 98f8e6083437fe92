"""Compares what Akin computes with a network it imported from ONNX against onnxruntime running
the original file, on the same pictures. Two steps:

    python bench/check_onnx_import.py prepare SOURCE_DIR OUT_DIR SIZE COUNT
        copies COUNT pictures from SOURCE_DIR (class = sub-folder) into OUT_DIR as SIZE x SIZE RGB
        PNGs (alpha composited onto white, PIL's bilinear resize), so that Akin decodes exactly
        the pixels onnxruntime gets (no resizing on Akin's side);
    python bench/check_onnx_import.py compare MODEL.onnx VALUE PROJECTOR_DIR MEAN STD
        runs MODEL.onnx to VALUE on the pictures listed in PROJECTOR_DIR/metadata.tsv (written by
        `akin export projector` with the imported model), normalised by MEAN and STD, brings the
        result to unit length as Akin does, and prints one JSON line with the largest difference
        from Akin's vectors (PROJECTOR_DIR/tensors.tsv) and both sides' images/s.
"""
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper
from PIL import Image


def prepare(source, out, size, count):
    pictures = []
    for folder, _, files in sorted(os.walk(source)):
        pictures += [os.path.join(folder, f) for f in sorted(files) if f.lower().endswith(".png")]
    step = max(1, len(pictures) // count)
    for path in pictures[::step][:count]:
        image = Image.open(path).convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, image).convert("RGB").resize((size, size), Image.BILINEAR)
        label = os.path.basename(os.path.dirname(path))
        os.makedirs(os.path.join(out, label), exist_ok=True)
        rgb.save(os.path.join(out, label, os.path.basename(path)))


def compare(model_path, value, projector, mean, std):
    model = onnx.load(model_path)
    del model.graph.output[:]
    model.graph.output.append(helper.make_tensor_value_info(value, TensorProto.FLOAT, None))
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.loadtxt(f"{projector}/tensors.tsv", delimiter="\t", dtype=np.float32, ndmin=2)
    with open(f"{projector}/metadata.tsv") as f:
        header, *rows = [line.rstrip("\n").split("\t") for line in f]
    paths = [row[header.index("path")] for row in rows]
    mean = np.array([float(v) for v in mean.split(",")], np.float32)[:, None, None]
    std = np.array([float(v) for v in std.split(",")], np.float32)[:, None, None]
    images = np.stack([(np.asarray(Image.open(p).convert("RGB"), np.float32).transpose(2, 0, 1) / 255 - mean) / std for p in paths])
    start = time.perf_counter()
    outputs = np.concatenate([session.run(None, {model.graph.input[0].name: images[i:i + 16]})[0] for i in range(0, len(images), 16)])
    seconds = time.perf_counter() - start
    outputs = outputs.reshape(len(images), -1)
    outputs /= np.sqrt((outputs * outputs).sum(axis=1, keepdims=True) + 1e-12)
    difference = float(np.abs(outputs - expected).max())
    print(json.dumps({"model": os.path.basename(model_path), "value": value, "images": len(paths), "dimension": int(outputs.shape[1]),
                      "max_abs_diff": difference, "onnxruntime_images_per_second": round(len(images) / seconds, 1),
                      "onnxruntime": onnxruntime.__version__}))
    if not difference <= 1e-4:
        raise SystemExit(f"Akin's imported network differs from onnxruntime by {difference}")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) == 7 and sys.argv[1] == "compare":
        compare(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
