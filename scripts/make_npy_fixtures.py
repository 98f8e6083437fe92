#!/usr/bin/env python3
"""Writes the small .npy files Akin's .npy reader is tested against (Tests/TensorsTests/Fixtures).

Run from the repository root:  python3 scripts/make_npy_fixtures.py
Needs numpy only. The values are simple formulas the test recomputes: x[i, j] = i - 0.25 * j.
"""
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TensorsTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)

matrix = np.array([[i - 0.25 * j for j in range(5)] for i in range(3)], dtype=np.float32)
np.save(os.path.join(OUT, "matrix_3x5_f32.npy"), matrix)
np.save(os.path.join(OUT, "vector_4_f32.npy"), np.arange(4, dtype=np.float32))
np.save(os.path.join(OUT, "matrix_f64.npy"), matrix.astype(np.float64))
np.save(os.path.join(OUT, "matrix_fortran.npy"), np.asfortranarray(matrix))
# Format version 2.0 (a 4-byte header length), as numpy writes for very wide headers.
with open(os.path.join(OUT, "matrix_v2_f32.npy"), "wb") as f:
    np.lib.format.write_array(f, matrix, version=(2, 0))
