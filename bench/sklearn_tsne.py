#!/usr/bin/env python3
"""The reference side of bench/tsne.sh.

  prepare OUT N D   writes the first N Fashion-MNIST test images (Debian's dataset-fashion-mnist),
                    reduced to D dimensions by PCA, as float32 (OUT) and their labels (OUT.labels)
  run IN N D        scikit-learn's Barnes-Hut t-SNE on them (its defaults, as Akin's), timed;
                    prints JSON with the time, KL divergence and both maps' 10-NN label agreement
"""
import gzip
import json
import sys
import time

import numpy as np


def knn_agreement(y, labels, k=10):
    from sklearn.neighbors import NearestNeighbors
    idx = NearestNeighbors(n_neighbors=k + 1).fit(y).kneighbors(y, return_distance=False)[:, 1:]
    return float((labels[idx] == labels[:, None]).mean())


def main():
    mode, path, n, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if mode == "prepare":
        from sklearn.decomposition import PCA
        with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n] / 255.0
        with gzip.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
        PCA(n_components=d, random_state=0).fit_transform(images).astype("<f4").tofile(path)
        labels.astype(np.int64).tofile(path + ".labels")
        return
    from sklearn.manifold import TSNE
    x = np.fromfile(path, "<f4").reshape(n, d)
    labels = np.fromfile(path + ".labels", np.int64)
    started, cpu_started = time.perf_counter(), time.process_time()
    tsne = TSNE(n_components=2, perplexity=30, init="pca", learning_rate="auto", method="barnes_hut", random_state=0)
    y = tsne.fit_transform(x)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    akin = np.fromfile(path + ".akin.f64", np.float64).reshape(n, 2)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "kl_divergence": float(tsne.kl_divergence_), "iterations": int(tsne.n_iter_),
                      "sklearn_knn_agreement": knn_agreement(y, labels), "akin_knn_agreement": knn_agreement(akin, labels)}))


main()
