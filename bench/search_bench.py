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
    elif args.data == "synthetic":
        # A gallery like a million faces: 20,000 identities, each a direction with its items
        # scattered around it (noise of norm about 0.5 against the unit centre), queries new items
        # of the same identities.
        rng = np.random.default_rng(0)
        centres = rng.standard_normal((20_000, 64), dtype=np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        def draw(count):
            noise = rng.standard_normal((count, 64), dtype=np.float32) * np.float32(0.5 / 8)
            return centres[rng.integers(0, len(centres), count)] + noise
        base, queries = draw(args.n), draw(args.queries)
    else:
        # No structure at all: the hardest case for any approximate index.
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
    p.add_argument("--data", choices=["fmnist", "synthetic", "gaussian"], default="fmnist")
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--queries", type=int, default=10000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--ef", default=None, help="efSearch values to sweep (default: 16 to 128, and on to 512 for synthetic data)")
    p.add_argument("--tile", type=int, default=1,
                   help="time each setting on the queries repeated this many times (recall still on one copy): longer, steadier timings")
    p.add_argument("--repeats", type=int, default=None,
                   help="times each setting is timed, the fastest kept (default: 3, or 1 past 100,000 items)")
    p.add_argument("--single-queries", type=int, default=None,
                   help="queries timed one by one in exact search (default: all, or 1000 past 100,000 items: a scan per query)")
    p.add_argument("--systems", default="all",
                   help="comma list of faiss-hnsw, faiss-ivfpq, hnswlib, akin-flat, akin-hnsw, akin-sq8, akin-ivfpq (faiss Flat always runs: it is the truth)")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    import faiss
    import hnswlib
    faiss.omp_set_num_threads(args.threads)

    wanted = lambda name: args.systems == "all" or name in args.systems.split(",")
    base, queries = make_data(args)
    n, d = base.shape
    if args.ef is None:
        args.ef = "16,20,24,32,48,64,96,128" + (",192,256,384,512" if args.data != "fmnist" else "")
    single = args.single_queries or (len(queries) if n <= 100_000 else min(len(queries), 1000))
    repeats = args.repeats or (3 if n <= 100_000 else 1)
    # Recall is scored on the first copy (zip stops at the truth's end).
    timed_queries = np.ascontiguousarray(np.tile(queries, (args.tile, 1)))
    rows = []

    def record(system, index, recall10, qps, build_seconds=None, bytes_per_vector=None, **extra):
        row = dict(data=args.data, n=n, queries=len(queries), threads=args.threads, system=system, index=index,
                   recall_at_10=round(recall10, 4), queries_per_second=round(qps, 1),
                   build_seconds=None if build_seconds is None else round(build_seconds, 3),
                   bytes_per_vector=bytes_per_vector, **extra)
        rows.append(row)
        print(json.dumps(row), flush=True)

    def timed(search, one_by_one, count=None):
        """(answers, queries/s, queries per CPU second) of `search` over the first `count` queries (all
        timing copies by default): one call with the whole batch, or one call per query."""
        timing = timed_queries if count is None else queries[:count]
        count = len(timing)
        started, cpu = time.perf_counter(), time.process_time()
        if one_by_one:
            found = np.concatenate([search(timing[i:i + 1]) for i in range(count)])
        else:
            found = search(timing)
        return found, count / (time.perf_counter() - started), count / (time.process_time() - cpu)

    def best_of(measure):
        """The fastest of `repeats` timings (by CPU time): a shared machine only ever slows a run down."""
        runs = [measure() for _ in range(repeats)]
        return max(runs, key=lambda r: r[-1])

    def sweep(system, index, values, setter, search, built, per_vector, name, truth=None):
        for value in values:
            setter(value)
            for mode in ["batch", "single"]:
                found, qps, cpu_qps = best_of(lambda: timed(search, mode == "single"))
                record(system, index, 1.0 if truth is None else recall(found, truth), qps, built, per_vector, mode=mode,
                       queries_per_cpu_second=round(cpu_qps, 1), **{name: value})
                if truth is None:
                    return found

    # faiss exact: the ground truth.
    flat = faiss.IndexFlatIP(d)
    started = time.perf_counter(); flat.add(base); built = time.perf_counter() - started
    flat.search(queries[:100], 10)  # warm-up: the first call pays for thread pools and page faults
    truth = sweep("faiss", "Flat", [0], lambda _: None, lambda q: flat.search(q, 10)[1], built, 4 * d, "setting")
    if wanted("akin-flat"):
        _, qps, cpu_qps = best_of(lambda: timed(lambda q: flat.search(q, 10)[1], True, single))
        record("faiss", "Flat", 1.0, qps, built, 4 * d, mode="single", setting=0, queries_per_cpu_second=round(cpu_qps, 1),
               timed_queries=single)

    # hnswlib and faiss HNSW, M 16, efConstruction 200.
    efs = [int(e) for e in args.ef.split(",")]
    # Level-0 links (2M + 1 ints), the vector and the label, as hnswlib lays them out; upper levels are few.
    per_vector = 4 * d + 4 * (2 * 16 + 1) + 8
    if wanted("hnswlib"):
        h = hnswlib.Index(space="ip", dim=d)
        h.init_index(max_elements=n, ef_construction=200, M=16, random_seed=100)
        h.set_num_threads(args.threads)
        started = time.perf_counter(); h.add_items(base, np.arange(n)); built = time.perf_counter() - started
        sweep("hnswlib", "HNSW M16 efC200", efs, lambda ef: h.set_ef(max(ef, 10)), lambda q: h.knn_query(q, k=10)[0],
              built, per_vector, "ef_search", truth)
    if wanted("faiss-hnsw"):
        fh = faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT)
        fh.hnsw.efConstruction = 200
        started = time.perf_counter(); fh.add(base); built = time.perf_counter() - started
        sweep("faiss", "HNSW M16 efC200", efs, lambda ef: setattr(fh.hnsw, "efSearch", max(ef, 10)), lambda q: fh.search(q, 10)[1],
              built, per_vector, "ef_search", truth)

    # faiss IVF-PQ: 1024 cells, 32 one-byte codes (40 bytes an item with its id), no re-ranking.
    if wanted("faiss-ivfpq"):
        ivf = faiss.index_factory(d, "IVF1024,PQ32", faiss.METRIC_INNER_PRODUCT)
        started = time.perf_counter(); ivf.train(base); ivf.add(base); built = time.perf_counter() - started
        sweep("faiss", "IVF1024,PQ32", [8, 16, 32, 64, 128], lambda p: setattr(ivf, "nprobe", p), lambda q: ivf.search(q, 10)[1],
              built, 32 + 8, "probe", truth)

    # Akin, through its command.
    gallery = os.path.join(args.work, "g.akin")
    for suffix in ["", "-wal", "-shm", ".index"]:
        if os.path.exists(gallery + suffix):
            os.remove(gallery + suffix)
    np.save(os.path.join(args.work, "base.npy"), base)
    np.save(os.path.join(args.work, "queries.npy"), timed_queries)
    np.save(os.path.join(args.work, "queries-single.npy"), queries[:single])
    akin, threads = args.akin, ["--threads", str(args.threads)]
    run([akin, "gallery", "create", "--dim", str(d), "--out", gallery])
    run([akin, "gallery", "add", "--gallery", gallery, "--vectors", os.path.join(args.work, "base.npy")])

    def akin_search(mode, few=False):
        file = "queries-single.npy" if few else "queries.npy"
        done = run([akin, "search", "--gallery", gallery, "--vectors", os.path.join(args.work, file), "-k", "10",
                    "--json", "--stats", *threads, *(["--one-by-one"] if mode == "single" else [])])
        found = [[r["id"] for r in answer["results"]] for answer in json.loads(done.stdout)]
        qps = float(re.search(r"([0-9.]+) queries/s", done.stderr).group(1))
        cpu_qps = float(re.search(r"([0-9.]+) queries per CPU second", done.stderr).group(1))
        return recall(found, truth[:len(found)]), qps, cpu_qps

    def build(kind, *options):
        done = run([akin, "index", "build", "--gallery", gallery, "--kind", kind, *options, *threads])
        match = re.search(r"built in ([0-9.]+) s.*\(([0-9.]+) per item\)", done.stderr)
        resident = re.search(r"resident: .*\(([0-9.]+) per item\)", done.stderr)
        return float(match.group(1)), float(resident.group(1) if resident else match.group(2))

    def set_index(settings):
        # Search-time settings live in the gallery's index record; changing them reuses the built index.
        db = sqlite3.connect(gallery)
        db.execute("UPDATE meta SET value = ? WHERE key = 'index'", (json.dumps(settings),))
        db.commit(); db.close()

    def akin_sweep(label, kind, settings_for, values, name, built, per_item, few_single=False):
        for value in values:
            set_index(settings_for(value))
            for mode in ["batch", "single"]:
                few = few_single and mode == "single"
                r, qps, cpu_qps = best_of(lambda: akin_search(mode, few))
                extra = dict(timed_queries=single) if few else {}
                record("akin", label, r, qps, built, per_item, mode=mode, queries_per_cpu_second=cpu_qps, **{name: value}, **extra)

    if wanted("akin-flat"):
        built, per_item = build("flat")
        akin_sweep("Flat", "flat", lambda _: {"kind": "flat"}, [0], "setting", built, per_item, few_single=True)
    if wanted("akin-hnsw"):
        built, per_item = build("hnsw", "--m", "16", "--ef-construction", "200")
        akin_sweep("HNSW M16 efC200", "hnsw", lambda ef: {"kind": "hnsw", "m": 16, "efConstruction": 200, "efSearch": ef},
                   efs, "ef_search", built, per_item)
    if wanted("akin-sq8"):
        built, per_item = build("sq8")
        akin_sweep("SQ8 + re-rank", "sq8", lambda r: {"kind": "sq8", "rerank": r}, [16, 32, 64], "rerank", built, per_item)
    if wanted("akin-ivfpq"):
        built, per_item = build("ivfpq", "--lists", "1024", "--subquantizers", "32")
        akin_sweep("IVF1024,PQ32 + re-rank", "ivfpq",
                   lambda p: {"kind": "ivfpq", "lists": 1024, "subquantizers": 32, "probe": p[0], "rerank": p[1]},
                   [(8, 64), (16, 64), (16, 128), (32, 128), (64, 256)], "probe_rerank", built, per_item)

    with open(args.results, "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    summarise(rows)


def summarise(rows):
    def best(system, index, floor, mode, key="queries_per_cpu_second"):
        good = [r for r in rows if r["system"] == system and r["index"] == index and r["recall_at_10"] >= floor and r["mode"] == mode]
        return max(good, key=lambda r: r[key]) if good else None
    setting = lambda r: next((str(r[key]) for key in ["ef_search", "probe", "rerank", "probe_rerank"] if key in r), "")
    print()
    print("| system | index | setting | mode | recall@10 | queries/s (wall) | queries per CPU second | build s | bytes/vector |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['system']} | {r['index']} | {setting(r)} | {r['mode']} | {r['recall_at_10']:.4f} | {r['queries_per_second']:.0f} | "
              f"{r['queries_per_cpu_second']:.0f} | {r['build_seconds']} | {r['bytes_per_vector']} |")
    print()
    for mode in ["batch", "single"]:
        pairs = [("exact", ("akin", "Flat"), ("faiss", "Flat"), 0),
                 ("HNSW vs hnswlib", ("akin", "HNSW M16 efC200"), ("hnswlib", "HNSW M16 efC200"), 0.99),
                 ("HNSW vs faiss HNSW", ("akin", "HNSW M16 efC200"), ("faiss", "HNSW M16 efC200"), 0.99),
                 ("HNSW vs hnswlib", ("akin", "HNSW M16 efC200"), ("hnswlib", "HNSW M16 efC200"), 0.95)]
        for name, ours, theirs, floor in pairs:
            a, b = best(*ours, floor, mode), best(*theirs, floor, mode)
            if a and b:
                key = "queries_per_cpu_second"
                print(f"{mode}, {name} at recall@10 ≥ {floor}, queries per CPU second: Akin {a[key]:.0f} ({setting(a)}), "
                      f"{b['system']} {b[key]:.0f} ({setting(b)}): {a[key] / b[key]:.2f}×")
    for label in ["SQ8 + re-rank", "IVF1024,PQ32 + re-rank"]:
        a = best("akin", label, 0.95, "batch")
        if a:
            print(f"{label}: recall@10 {a['recall_at_10']:.4f} at {a['queries_per_second']:.0f} q/s, {a['bytes_per_vector']} bytes/vector resident")
    for floor in [0.95, 0.99]:
        for mode in ["batch", "single"]:
            tops = {}
            for system in ["akin", "faiss", "hnswlib"]:
                good = [r for r in rows if r["system"] == system and r["mode"] == mode and r["recall_at_10"] >= floor
                        and "timed_queries" not in r]
                if good:
                    tops[system] = max(good, key=lambda r: r["queries_per_cpu_second"])
            if "akin" in tops and len(tops) > 1:
                a = tops["akin"]
                others = ", ".join(f"{s} {t['index']} ({setting(t)}) {t['queries_per_cpu_second']:.0f}: {a['queries_per_cpu_second'] / t['queries_per_cpu_second']:.2f}×"
                                   for s, t in tops.items() if s != "akin")
                print(f"{mode}, best index at recall@10 ≥ {floor}, queries per CPU second: Akin {a['index']} ({setting(a)}) "
                      f"{a['queries_per_cpu_second']:.0f}; {others}")
    f = max((r for r in rows if r["index"] == "IVF1024,PQ32"), key=lambda r: r["recall_at_10"], default=None)
    if f:
        print(f"faiss IVF1024,PQ32 best recall@10 {f['recall_at_10']:.4f} (probe {f['probe']}), {f['bytes_per_vector']} bytes/vector")


if __name__ == "__main__":
    main()
