"""Loads a model written by `akin export pytorch` with its own akin_model.py and compares the
embeddings PyTorch computes with Akin's (from `akin export projector`: tensors.tsv, one row per
image of metadata.tsv). Prints one JSON line; exits non-zero past 1e-4.

    python bench/check_pytorch_export.py EXPORT_DIR PROJECTOR_DIR NAME "TRAINING FLAGS"
"""
import json
import sys

import numpy as np
import torch
from PIL import Image


def main(export_dir, projector_dir, name, flags):
    sys.path.insert(0, export_dir)
    from akin_model import load

    model, preprocessing = load(f"{export_dir}/model.safetensors")
    size, channels = preprocessing["imageSize"], preprocessing["channels"]
    mean = torch.tensor(preprocessing["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(preprocessing["std"]).view(1, -1, 1, 1)

    expected = np.loadtxt(f"{projector_dir}/tensors.tsv", delimiter="\t", dtype=np.float32, ndmin=2)
    with open(f"{projector_dir}/metadata.tsv") as f:
        header, *rows = [line.rstrip("\n").split("\t") for line in f]
    paths = [row[header.index("path")] for row in rows]

    pixels = []
    for path in paths:
        image = Image.open(path).convert("L" if channels == 1 else "RGB")
        if image.size != (size, size):
            raise SystemExit(f"{path} is {image.size}, not {size}x{size}: this check feeds images at the model's size")
        array = np.asarray(image, dtype=np.float32).reshape(size, size, channels)
        pixels.append(array.transpose(2, 0, 1))
    images = (torch.from_numpy(np.stack(pixels)) / 255 - mean) / std
    with torch.no_grad():
        embeddings = model(images).numpy()
    difference = float(np.abs(embeddings - expected).max())
    state = model.state_dict()
    print(json.dumps({
        "model": name, "training_flags": flags, "images": len(paths), "dimension": int(embeddings.shape[1]),
        "state_dict_entries": len(state),
        "batch_norm_counters": sum(key.endswith("num_batches_tracked") for key in state),
        "max_abs_diff": difference, "torch": torch.__version__,
    }))
    if not difference <= 1e-4:
        raise SystemExit(f"{name}: PyTorch's embeddings differ from Akin's by {difference}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
