#!/usr/bin/env python3
"""The two sides of bench/search.sh: faiss and hnswlib in this process, Akin through its command
(`akin gallery add`, `akin index build`, `akin search --vectors … --json --stats`), on the same vectors.
Akin's queries/s is its own search time (--stats), like the references' timed search call: loading the
index and printing JSON are not counted on either side."""
import argparse
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

import numpy as np


def load_idx(path):
    with gzip.open(path, "rb") as f:
        blob = f.read()
    n, rows, cols = int.from_bytes(blob[4:8], "big"), int.from_bytes(blob[8:12], "big"), int.from_bytes(blob[12:16], "big")
    return np.frombuffer(blob, dtype=np.uint8, offset=16).reshape(n, rows * cols).astype(np.float32) / 255


def make_data(args):
    if args.data == "fmnist":
        source = os.environ.get("AKIN_BENCH_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
        train = load_idx(f"{source}/train-images-idx3-ubyte.gz")[:args.n]
        test = load_idx(f"{source}/t10k-images-idx3-ubyte.gz")[:args.queries]
        mean = train.mean(axis=0)
        _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
        base, queries = (train - mean) @ vt[:64].T, (test - mean) @ vt[:64].T
    else:
        rng = np.random.default_rng(0)
        base = rng.standard_normal((args.n, 64), dtype=np.float32)
        queries = rng.standard_normal((args.queries, 64), dtype=np.float32)
    normalise = lambda x: np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)
    return normalise(base), normalise(queries)


def recall(found, truth, k=10):
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)]))


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    return done


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--akin", required=True)
    p.add_argument("--data", choices=["fmnist", "synthetic"], default="fmnist")
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--queries", type=int, default=10000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--ef", default="16,32,64,96,128,192,256")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    import faiss
    import hnswlib
    faiss.omp_set_num_threads(args.threads)

    base, queries = make_data(args)
    n, d = base.shape
    rows = []

    def record(system, index, recall10, qps, build_seconds=None, bytes_per_vector=None, **extra):
        row = dict(data=args.data, n=n, queries=len(queries), threads=args.threads, system=system, index=index,
                   recall_at_10=round(recall10, 4), queries_per_second=round(qps, 1),
                   build_seconds=None if build_seconds is None else round(build_seconds, 3),
                   bytes_per_vector=bytes_per_vector, **extra)
        rows.append(row)
        print(json.dumps(row), flush=True)

    # faiss exact: the ground truth.
    flat = faiss.IndexFlatIP(d)
    started = time.perf_counter(); flat.add(base); built = time.perf_counter() - started
    started = time.perf_counter(); _, truth = flat.search(queries, 10); seconds = time.perf_counter() - started
    record("faiss", "IndexFlatIP", 1.0, len(queries) / seconds, built, 4 * d)

    # hnswlib, M 16, efConstruction 200.
    h = hnswlib.Index(space="ip", dim=d)
    h.init_index(max_elements=n, ef_construction=200, M=16, random_seed=100)
    h.set_num_threads(args.threads)
    started = time.perf_counter(); h.add_items(base, np.arange(n)); built = time.perf_counter() - started
    # Level-0 links (2M + 1 ints) plus the vector, as hnswlib lays them out; upper levels are few.
    per_vector = 4 * d + 4 * (2 * 16 + 1) + 8
    for ef in [int(e) for e in args.ef.split(",")]:
        h.set_ef(max(ef, 10))
        started = time.perf_counter(); labels, _ = h.knn_query(queries, k=10); seconds = time.perf_counter() - started
        record("hnswlib", "HNSW M16 efC200", recall(labels, truth), len(queries) / seconds, built, per_vector, ef_search=ef)

    # Akin, through its command.
    gallery = os.path.join(args.work, "g.akin")
    for suffix in ["", "-wal", "-shm", ".index"]:
        if os.path.exists(gallery + suffix):
            os.remove(gallery + suffix)
    np.save(os.path.join(args.work, "base.npy"), base)
    np.save(os.path.join(args.work, "queries.npy"), queries)
    akin, threads = args.akin, ["--threads", str(args.threads)]
    run([akin, "gallery", "create", "--dim", str(d), "--out", gallery])
    run([akin, "gallery", "add", "--gallery", gallery, "--vectors", os.path.join(args.work, "base.npy")])

    def akin_search(extra=()):
        done = run([akin, "search", "--gallery", gallery, "--vectors", os.path.join(args.work, "queries.npy"), "-k", "10",
                    "--json", "--stats", *threads, *extra])
        found = [[r["id"] for r in answer["results"]] for answer in json.loads(done.stdout)]
        qps = float(re.search(r"([0-9.]+) queries/s", done.stderr).group(1))
        return recall(found, truth), qps

    def build(kind, *options):
        done = run([akin, "index", "build", "--gallery", gallery, "--kind", kind, *options, *threads])
        match = re.search(r"built in ([0-9.]+) s.*\(([0-9.]+) per item\)", done.stderr)
        return float(match.group(1)), float(match.group(2))

    built, per_item = build("flat")
    r, qps = akin_search()
    record("akin", "flat", r, qps, built, per_item)
    built, per_item = build("hnsw", "--m", "16", "--ef-construction", "200")
    for ef in [int(e) for e in args.ef.split(",")]:
        # efSearch is a search-time setting kept in the gallery's index record; changing it reuses the built graph.
        db = sqlite3.connect(gallery)
        db.execute("UPDATE meta SET value = ? WHERE key = 'index'",
                   (json.dumps({"kind": "hnsw", "m": 16, "efConstruction": 200, "efSearch": ef}),))
        db.commit(); db.close()
        r, qps = akin_search()
        record("akin", "HNSW M16 efC200", r, qps, built, per_item, ef_search=ef)

    with open(args.results, "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    summarise(rows)


def summarise(rows):
    def best(system, index, floor):
        good = [r for r in rows if r["system"] == system and r["index"] == index and r["recall_at_10"] >= floor]
        return max(good, key=lambda r: r["queries_per_second"]) if good else None
    print()
    print("| system | index | ef | recall@10 | queries/s | build s | bytes/vector |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['index']} | {r.get('ef_search', '')} | {r['recall_at_10']:.4f} | {r['queries_per_second']:.0f} | "
              f"{r['build_seconds']} | {r['bytes_per_vector']} |")
    fa, aa = best("faiss", "IndexFlatIP", 0), best("akin", "flat", 0)
    if fa and aa:
        print(f"\nexact: Akin {aa['queries_per_second']:.0f} q/s, faiss {fa['queries_per_second']:.0f} q/s: "
              f"{aa['queries_per_second'] / fa['queries_per_second']:.2f}×")
    for floor in [0.99, 0.95]:
        hb, ab = best("hnswlib", "HNSW M16 efC200", floor), best("akin", "HNSW M16 efC200", floor)
        if hb and ab:
            print(f"HNSW at recall@10 ≥ {floor}: Akin {ab['queries_per_second']:.0f} q/s (ef {ab['ef_search']}), "
                  f"hnswlib {hb['queries_per_second']:.0f} q/s (ef {hb['ef_search']}): {ab['queries_per_second'] / hb['queries_per_second']:.2f}×")


if __name__ == "__main__":
    main()
