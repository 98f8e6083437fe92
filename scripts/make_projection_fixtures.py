#!/usr/bin/env python3
"""Regenerates Tests/ProjectionTests/Fixtures/sklearn_projection.json: PCA and t-SNE input
affinities computed by scikit-learn, for the Projection module's tests.

Run from the repository root with a Python that has numpy and scikit-learn, e.g.
  ~/.cache/akin-bench/venv/bin/python scripts/make_projection_fixtures.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.manifold._t_sne import _joint_probabilities
from sklearn.metrics import pairwise_distances

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rng = np.random.default_rng(20261129)

# PCA: 60 points in 8 dimensions with clearly different variances along a random rotation, so
# the leading components are well defined.
n, d = 60, 8
scales = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1])
rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
x = ((rng.standard_normal((n, d)) * scales) @ rotation.T + rng.standard_normal(d)).astype(np.float32)
pca = PCA(n_components=3, svd_solver="full").fit(x.astype(np.float64))
components = pca.components_.copy()
# Akin's sign convention (scikit-learn's svd_flip on the components, whatever its version does):
# each component's entry of largest magnitude is positive.
for c in components:
    if c[np.argmax(np.abs(c))] < 0:
        c *= -1
projected = (x.astype(np.float64) - pca.mean_) @ components.T

# t-SNE's exact joint probabilities for 30 points in 5 dimensions, perplexity 5.
m = 30
y = rng.standard_normal((m, 5)).astype(np.float32)
distances = pairwise_distances(y.astype(np.float64), squared=True)
condensed = _joint_probabilities(distances, 5.0, 0)
p = np.zeros((m, m))
iu = np.triu_indices(m, 1)
p[iu] = condensed
p = p + p.T

fixture = {
    "sklearn_version": sklearn.__version__,
    "pca_x": x.ravel().tolist(), "pca_n": n, "pca_d": d,
    "pca_mean": pca.mean_.tolist(),
    "pca_components": components.ravel().tolist(),
    "pca_explained_variance": pca.explained_variance_.tolist(),
    "pca_explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
    "pca_projected": projected.ravel().tolist(),
    "tsne_x": y.ravel().tolist(), "tsne_n": m, "tsne_d": 5, "tsne_perplexity": 5.0,
    "tsne_p": p.ravel().tolist(),
}
out = os.path.join(ROOT, "Tests", "ProjectionTests", "Fixtures", "sklearn_projection.json")
with open(out, "w") as f:
    json.dump(fixture, f)
print("wrote", out)
