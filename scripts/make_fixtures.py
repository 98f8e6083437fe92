#!/usr/bin/env python3
"""Regenerates the numeric fixtures and small images the tests compare against.

Run from the repository root:  python3 scripts/make_fixtures.py
Needs numpy only. Values come from independent numpy code, not from akin.
"""
import json
import os
import struct
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rng = np.random.default_rng(20261129)


def conv2d_same(x, w, b):
    """x [n,c,h,w], w [o,c,k,k], b [o]; stride 1, SAME padding for odd k."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    p = (k - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((n, o, h, wd), dtype=np.float64)
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, :, ky:ky + h, kx:kx + wd]  # n,c,h,w
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx])
    return out + b[None, :, None, None]


def maxpool_same(x):
    """TensorFlow SAME 2x2/2: pad the odd edge after the end with -inf."""
    n, c, h, w = x.shape
    oh, ow = (h + 1) // 2, (w + 1) // 2
    xp = np.full((n, c, 2 * oh, 2 * ow), -np.inf)
    xp[:, :, :h, :w] = x
    return xp.reshape(n, c, oh, 2, ow, 2).max(axis=(3, 5))


def triplet(emb, b, margin, distance):
    a, p, ng = emb[:b], emb[b:2 * b], emb[2 * b:]

    def dist(x, y):
        if distance == "l2":
            return np.sqrt(((x - y) ** 2).sum(1) + 1e-12)
        nx = np.sqrt((x * x).sum(1) + 1e-12)
        ny = np.sqrt((y * y).sum(1) + 1e-12)
        return 1 - (x * y).sum(1) / (nx * ny)

    dap, dan = dist(a, p), dist(a, ng)
    losses = np.maximum(0, dap - dan + margin)
    return {"loss": float(losses.mean()), "active_fraction": float((losses > 0).mean()),
            "mean_positive_distance": float(dap.mean()), "mean_negative_distance": float(dan.mean())}


def map_at_r(sim, labels):
    """Leave-one-out P@1, R@10 and MAP@R with ties broken by index; a query alone in its class is not counted."""
    n = len(labels)
    p1 = r10 = ap = 0.0
    counted = 0
    for q in range(n):
        order = [j for j in sorted(range(n), key=lambda j: (-sim[q, j], j)) if j != q]
        rel = [labels[j] == labels[q] for j in order]
        r = sum(1 for j in range(n) if j != q and labels[j] == labels[q])
        if r == 0:
            continue
        counted += 1
        p1 += rel[0]
        r10 += any(rel[:10])
        hits, s = 0, 0.0
        for i, yes in enumerate(rel[:r]):
            if yes:
                hits += 1
                s += hits / (i + 1)
        ap += s / r
    return {"precision_at_1": p1 / counted, "recall_at_10": r10 / counted, "map_at_r": ap / counted, "queries": counted}


def f32(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")


# Networks: convolution and pooling.
x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
b = rng.standard_normal(4).astype(np.float32)
px = rng.standard_normal((1, 2, 7, 5)).astype(np.float32)
write_json(os.path.join(ROOT, "Tests/NetworksTests/Fixtures/numpy_layers.json"), {
    "conv": {"input_shape": list(x.shape), "weight_shape": list(w.shape), "input": f32(x), "weight": f32(w), "bias": f32(b),
             "output": f32(conv2d_same(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64)))},
    "pool": {"input_shape": list(px.shape), "input": f32(px), "output": f32(maxpool_same(px))},
})

# Similarity: the triplet loss, both distances.
B, D = 5, 4
emb = rng.standard_normal((3 * B, D)).astype(np.float32)
emb[B] = emb[0]  # one anchor equals its positive: the L2 gradient must stay finite there
write_json(os.path.join(ROOT, "Tests/SimilarityTests/Fixtures/numpy_triplet.json"), {
    "batch": B, "dimension": D, "margin": 0.5, "embeddings": f32(emb),
    "l2": triplet(emb.astype(np.float64), B, 0.5, "l2"),
    "cosine": triplet(emb.astype(np.float64), B, 0.5, "cosine"),
})

# Evaluation: metrics over a small labelled set.
vec = rng.standard_normal((24, 3)).astype(np.float32)
vec /= np.linalg.norm(vec, axis=1, keepdims=True)
labels = [int(v) for v in rng.integers(0, 4, 23)] + [9]  # class 9 has one member: not counted
sim = vec.astype(np.float32) @ vec.astype(np.float32).T
write_json(os.path.join(ROOT, "Tests/EvaluationTests/Fixtures/numpy_metrics.json"), {
    "vectors": f32(vec), "labels": labels, "dimension": 3, **map_at_r(sim.astype(np.float64), labels)})


# Images: PNG colour types that akin's own encoder does not write (palette, 16-bit, gray+alpha).
def png(width, height, color_type, bit_depth, rows, palette=None):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", bytes(palette))
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


images = os.path.join(ROOT, "Tests/ImagesTests/Fixtures")
os.makedirs(images, exist_ok=True)
# 4x2 palette image: left half red, right half blue.
with open(os.path.join(images, "palette.png"), "wb") as f:
    f.write(png(4, 2, 3, 8, [bytes([0, 0, 1, 1])] * 2, palette=[255, 0, 0, 0, 0, 255]))
# 3x2 16-bit gray: values 0, 32768, 65535 per row.
with open(os.path.join(images, "gray16.png"), "wb") as f:
    f.write(png(3, 2, 0, 16, [struct.pack(">HHH", 0, 32768, 65535)] * 2))
# 2x1 16-bit RGB: pure green, pure white.
with open(os.path.join(images, "rgb16.png"), "wb") as f:
    f.write(png(2, 1, 2, 16, [struct.pack(">HHHHHH", 0, 65535, 0, 65535, 65535, 65535)]))
# 2x1 gray+alpha: opaque black, fully transparent black (composited onto white).
with open(os.path.join(images, "gray_alpha.png"), "wb") as f:
    f.write(png(2, 1, 4, 8, [bytes([0, 255, 0, 0])]))
# 2x1 16-bit gray+alpha: opaque mid-gray, fully transparent (composited onto white).
with open(os.path.join(images, "gray_alpha16.png"), "wb") as f:
    f.write(png(2, 1, 4, 16, [struct.pack(">HHHH", 32768, 65535, 0, 0)]))
print("fixtures written")
