#!/usr/bin/env python3
"""Regenerates the numeric fixtures and small images the tests compare against.

Run from the repository root:  python3 scripts/make_fixtures.py
Needs numpy only. Values come from independent numpy code, not from akin. Run with a Python that
also has scikit-learn and pytorch-metric-learning (bench/speed.sh's virtual environment:
~/.cache/akin-bench/venv/bin/python) and the evaluation fixtures are cross-checked against them.
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


def retrieval_metrics(sim, query_labels, gallery_labels, leave_one_out):
    """P@1, R@10, R-Precision, MAP@R and per-class P@1 / MAP@R, with ties broken by gallery index.
    With leave_one_out the queries are the gallery and each query's own row is left out. A query
    with no other gallery item of its class is not counted (pytorch-metric-learning's "lone" query)."""
    p1 = r10 = rp = ap = 0.0
    counted = 0
    per_class = {}
    n = len(gallery_labels)
    for q, label in enumerate(query_labels):
        order = [j for j in sorted(range(n), key=lambda j: (-sim[q, j], j)) if not (leave_one_out and j == q)]
        rel = [gallery_labels[j] == label for j in order]
        r = sum(rel)
        if r == 0:
            continue
        counted += 1
        p1 += rel[0]
        r10 += any(rel[:10])
        rp += sum(rel[:r]) / r
        hits, s = 0, 0.0
        for i, yes in enumerate(rel[:r]):
            if yes:
                hits += 1
                s += hits / (i + 1)
        ap += s / r
        c = per_class.setdefault(label, [0, 0.0, 0.0])
        c[0] += 1
        c[1] += rel[0]
        c[2] += s / r
    return {"precision_at_1": p1 / counted, "recall_at_10": r10 / counted, "r_precision": rp / counted,
            "map_at_r": ap / counted, "queries": counted,
            "per_class": [{"class": label, "queries": c[0], "precision_at_1": c[1] / c[0], "map_at_r": c[2] / c[0]}
                          for label, c in sorted(per_class.items())]}


def normalized_mutual_information(a, b):
    """scikit-learn's normalized_mutual_info_score (average_method='arithmetic'), written out in numpy."""
    a, b = np.asarray(a), np.asarray(b)
    classes, ia = np.unique(a, return_inverse=True)
    clusters, ib = np.unique(b, return_inverse=True)
    if len(classes) == len(clusters) <= 1:
        return 1.0  # neither labeling splits the items: a perfect match by convention
    n = len(a)
    table = np.zeros((len(classes), len(clusters)))
    np.add.at(table, (ia, ib), 1)
    pa, pb = table.sum(1) / n, table.sum(0) / n
    nz = table > 0
    pij = table[nz] / n
    mi = max(float((pij * np.log(pij / np.outer(pa, pb)[nz])).sum()), 0.0)
    if mi == 0:
        return 0.0
    entropy = lambda p: float(-(p * np.log(p)).sum())
    return mi / ((entropy(pa) + entropy(pb)) / 2)


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
metrics = {"vectors": f32(vec), "labels": labels, "dimension": 3, **retrieval_metrics(sim.astype(np.float64), labels, labels, True)}

# Later cases draw from their own generator, so the ones above never change.
erng = np.random.default_rng(20261204)
# Separate queries and gallery; class 7 has queries but no gallery item (not counted).
gvec = erng.standard_normal((30, 4)).astype(np.float32)
gvec /= np.linalg.norm(gvec, axis=1, keepdims=True)
qvec = erng.standard_normal((12, 4)).astype(np.float32)
qvec /= np.linalg.norm(qvec, axis=1, keepdims=True)
glabels = [int(v) for v in erng.integers(0, 5, 30)]
qlabels = [int(v) for v in erng.integers(0, 5, 10)] + [7, 7]
gsim = (qvec @ gvec.T).astype(np.float64)
metrics["gallery_case"] = {"queries_vectors": f32(qvec), "query_labels": qlabels, "gallery_vectors": f32(gvec),
                           "gallery_labels": glabels, "dimension": 4,
                           **retrieval_metrics(gsim, qlabels, glabels, False)}

# NMI between pairs of labelings: independent draws, a relabelled copy, a noisy copy, odd label
# values, unequal group counts, and the limit cases (one group each; one group against several).
base = [int(v) for v in erng.integers(0, 5, 60)]
noisy = list(base)
for i in erng.choice(60, 15, replace=False):
    noisy[i] = int(erng.integers(0, 5))
pairs = [
    (base, [int(v) for v in erng.integers(0, 5, 60)]),
    (base, [[3, 0, 4, 1, 2][v] for v in base]),
    (base, noisy),
    ([-5, 100, 100, 7, -5, 7, 7, 100], [1, 1, 2, 2, 3, 3, 3, 3]),
    (base, [int(v) for v in erng.integers(0, 9, 60)]),
    ([2, 2, 2, 2], [5, 5, 5, 5]),
    ([2, 2, 2, 2], [0, 1, 0, 1]),
    ([0, 1], [0, 0]),
]
metrics["nmi_cases"] = [{"a": a, "b": b, "nmi": normalized_mutual_information(a, b)} for a, b in pairs]


def cross_check(metrics):
    """With scikit-learn and pytorch-metric-learning installed (bench/speed.sh's virtual environment),
    the fixture values must agree with them; with numpy alone this is skipped."""
    try:
        from sklearn.metrics import normalized_mutual_info_score
    except ImportError:
        print("scikit-learn not installed: NMI cross-check skipped")
    else:
        for case in metrics["nmi_cases"]:
            assert abs(normalized_mutual_info_score(case["a"], case["b"]) - case["nmi"]) < 1e-12, case
        print("NMI cases agree with scikit-learn")
    try:
        import torch
        from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    except ImportError:
        print("pytorch-metric-learning not installed: retrieval cross-check skipped")
        return
    calculator = AccuracyCalculator(include=("precision_at_1", "r_precision", "mean_average_precision_at_r"), device=torch.device("cpu"))
    keys = {"precision_at_1": "precision_at_1", "r_precision": "r_precision", "mean_average_precision_at_r": "map_at_r"}
    d = metrics["dimension"]
    v = np.array(metrics["vectors"], dtype=np.float32).reshape(-1, d)
    got = calculator.get_accuracy(v, np.array(metrics["labels"]))
    g = metrics["gallery_case"]
    gd = g["dimension"]
    got_gallery = calculator.get_accuracy(np.array(g["queries_vectors"], dtype=np.float32).reshape(-1, gd), np.array(g["query_labels"]),
                                          np.array(g["gallery_vectors"], dtype=np.float32).reshape(-1, gd), np.array(g["gallery_labels"]))
    for ours, theirs in [(metrics, got), (g, got_gallery)]:
        for their_key, our_key in keys.items():
            assert abs(theirs[their_key] - ours[our_key]) < 1e-6, (their_key, theirs[their_key], ours[our_key])
    print("retrieval metrics agree with pytorch-metric-learning")


cross_check(metrics)
write_json(os.path.join(ROOT, "Tests/EvaluationTests/Fixtures/numpy_metrics.json"), metrics)


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
