#!/usr/bin/env python3
"""The steps of bench/scaling.sh, for docs/scaling.md: every Akin index kind and pgvector's HNSW on one
synthetic set of N × D vectors, one thread each.

  prepare   the vectors (written straight to base.npy, a chunk at a time, so 10M × 128 never sits twice
            in memory), the queries, and their exact top-10 (a chunked scan in numpy)
  akin      an SQLite gallery; for each kind (flat, hnsw, sq8, ivfpq) `akin index build --threads 1`,
            then `akin search --one-by-one --stats --threads 1` over a sweep of its search settings
  pgvector  the same vectors into PostgreSQL through Akin (`akin gallery add`), pgvector's HNSW built by
            `akin index build` with no parallel maintenance workers, then queried one at a time by one
            psycopg connection (prepared), and through `akin search` on the postgres:// gallery (akin-pg)
  summary   the table: per side, the fastest setting with recall@10 >= the floor

Every measurement is appended to the results file as one JSON line the moment it is made."""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search_bench import recall, run  # noqa: E402

CENTRES = 20_000
CHUNK = 1_000_000
# ef_search swept, cheap to dear; pgvector takes at most 1000.
EFS = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1000]


def draw(rng, centres, count):
    """Items of a gallery like a million faces: a random identity's direction plus noise of norm about
    0.5 against the unit centre (as bench/search.sh's synthetic set, in any dimension), at unit length."""
    d = centres.shape[1]
    x = centres[rng.integers(0, len(centres), count)] + rng.standard_normal((count, d), dtype=np.float32) * np.float32(0.5 / np.sqrt(d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def prepare(args):
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((CENTRES, args.dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    queries = np.ascontiguousarray(draw(rng, centres, args.queries), dtype=np.float32)
    base = np.lib.format.open_memmap(os.path.join(args.work, "base.npy"), mode="w+", dtype=np.float32, shape=(args.n, args.dim))
    # Exact top-10 merged chunk by chunk, while each chunk is still in memory.
    best_scores = np.full((args.queries, 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((args.queries, 10), dtype=np.int64)
    for start in range(0, args.n, CHUNK):
        chunk = draw(rng, centres, min(CHUNK, args.n - start)).astype(np.float32)
        base[start:start + len(chunk)] = chunk
        for q in range(0, args.queries, 250):
            scores = queries[q:q + 250] @ chunk.T
            top = np.argpartition(-scores, 10, axis=1)[:, :10]
            merged_scores = np.concatenate([best_scores[q:q + 250], np.take_along_axis(scores, top, axis=1)], axis=1)
            merged_ids = np.concatenate([best_ids[q:q + 250], top + start], axis=1)
            keep = np.argsort(-merged_scores, axis=1)[:, :10]
            best_scores[q:q + 250] = np.take_along_axis(merged_scores, keep, axis=1)
            best_ids[q:q + 250] = np.take_along_axis(merged_ids, keep, axis=1)
        print(f"prepare: {start + len(chunk):,} of {args.n:,} vectors", flush=True)
    base.flush()
    del base
    np.save(os.path.join(args.work, "queries.npy"), queries)
    np.save(os.path.join(args.work, "queries-few.npy"), queries[:args.exact_queries])
    np.save(os.path.join(args.work, "truth.npy"), best_ids)


class Lane:
    def __init__(self, args):
        self.args = args
        self.truth = np.load(os.path.join(args.work, "truth.npy")).tolist()
        self.n, self.d = np.load(os.path.join(args.work, "base.npy"), mmap_mode="r").shape

    def record(self, system, index, setting, recall10, qps, build_seconds, bytes_per_item, **extra):
        row = dict(data="synthetic", n=self.n, d=self.d, queries=len(self.truth), threads=1, system=system, index=index,
                   setting=setting, recall_at_10=round(recall10, 4), queries_per_second=round(qps, 1),
                   build_seconds=None if build_seconds is None else round(build_seconds, 2),
                   bytes_per_item=None if bytes_per_item is None else round(bytes_per_item, 1),
                   cpu=os.sched_getaffinity(0).__repr__(), **extra)
        print(json.dumps(row), flush=True)
        with open(self.args.results, "a") as f:
            f.write(json.dumps(row) + "\n")

    def akin_search(self, gallery, few=False):
        file = "queries-few.npy" if few else "queries.npy"
        done = run([self.args.akin, "search", "--gallery", gallery, "--vectors", os.path.join(self.args.work, file), "-k", "10",
                    "--json", "--stats", "--one-by-one", "--threads", "1"])
        found = [[r["id"] for r in answer["results"]] for answer in json.loads(done.stdout)]
        return recall(found, self.truth[:len(found)]), float(re.search(r"([0-9.]+) queries/s", done.stderr).group(1)), len(found)


def akin_lane(args):
    lane = Lane(args)
    gallery = os.path.join(args.work, "g.akin")
    for suffix in ["", "-wal", "-shm", ".index"]:
        if os.path.exists(gallery + suffix):
            os.remove(gallery + suffix)
    started = time.perf_counter()
    run([args.akin, "gallery", "create", "--dim", str(lane.d), "--out", gallery])
    run([args.akin, "gallery", "add", "--gallery", gallery, "--vectors", os.path.join(args.work, "base.npy")])
    loaded = time.perf_counter() - started
    lists = args.lists or (1024 if lane.n <= 2_000_000 else 4096)

    def build(kind, *options):
        done = run([args.akin, "index", "build", "--gallery", gallery, "--kind", kind, *options, "--threads", "1"])
        match = re.search(r"built in ([0-9.]+) s.*\(([0-9.]+) per item\)", done.stderr)
        resident = re.search(r"resident: .*\(([0-9.]+) per item\)", done.stderr)
        return float(match.group(1)), float(resident.group(1) if resident else match.group(2))

    def set_index(settings):
        # Search-time settings live in the gallery's index record; changing them keeps the built index.
        db = sqlite3.connect(gallery)
        db.execute("UPDATE meta SET value = ? WHERE key = 'index'", (json.dumps(settings),))
        db.commit(); db.close()

    def sweep(label, settings, built, per_item, few=False):
        # Settings go from cheap to dear; past two that reach recall 0.999 the rest only cost time.
        reached = 0
        for value, record_settings in settings:
            set_index(record_settings)
            r, qps, count = lane.akin_search(gallery, few)
            lane.record("akin", label, value, r, qps, built, per_item, timed_queries=count, load_seconds=round(loaded, 1))
            reached += r >= 0.999
            if reached == 2:
                break

    kinds = args.kinds.split(",")
    if "flat" in kinds:
        built, per_item = build("flat")
        sweep("Flat", [(0, {"kind": "flat"})], built, per_item, few=True)
    if "hnsw" in kinds:
        efc = args.ef_construction
        built, per_item = build("hnsw", "--m", "16", "--ef-construction", str(efc))
        sweep(f"HNSW M16 efC{efc}", [(ef, {"kind": "hnsw", "m": 16, "efConstruction": efc, "efSearch": ef})
                                     for ef in EFS], built, per_item)
    if "sq8" in kinds:
        built, per_item = build("sq8")
        sweep("SQ8 + re-rank", [(r, {"kind": "sq8", "rerank": r}) for r in [16, 32, 64, 128]], built, per_item, few=True)
    if "ivfpq" in kinds:
        built, per_item = build("ivfpq", "--lists", str(lists), "--subquantizers", "32")
        sweep(f"IVF{lists},PQ32 + re-rank",
              [(f"{p}/{r}", {"kind": "ivfpq", "lists": lists, "subquantizers": 32, "probe": p, "rerank": r})
               for p, r in [(8, 64), (16, 64), (16, 128), (32, 128), (64, 256), (128, 512)]], built, per_item)


def pgvector_lane(args):
    import psycopg
    lane = Lane(args)
    efc = args.ef_construction
    collection = f"scaling_{lane.n}_{lane.d}"
    address = f"{args.server}?collection={collection}"
    url = args.server.replace("postgres://", "postgresql://")
    started = time.perf_counter()
    run([args.akin, "gallery", "create", "--dim", str(lane.d), "--out", address])
    run([args.akin, "gallery", "add", "--gallery", address, "--vectors", os.path.join(args.work, "base.npy")])
    loaded = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"ALTER SYSTEM SET max_parallel_maintenance_workers = {args.workers}")
        db.execute("SELECT pg_reload_conf()")
    done = run([args.akin, "index", "build", "--gallery", address, "--kind", "hnsw", "--m", "16",
                "--ef-construction", str(efc), "--threads", "1"])
    if "no longer fits" in done.stderr:
        print("pgvector: the graph outgrew maintenance_work_mem during the build (built on disk from then on)", flush=True)
    built = float(re.search(r"built (?:by pgvector in the database )?in ([0-9.]+) s", done.stderr).group(1))
    table, index = f'akin."items_{collection}"', f'akin."items_{collection}_hnsw"'
    queries = np.load(os.path.join(args.work, "queries.npy"))
    texts = ["[" + ",".join(repr(float(x)) for x in q) + "]" for q in queries]
    statement = f"SELECT id FROM {table} ORDER BY embedding <#> %s::vector LIMIT 10"
    reached = 0
    with psycopg.connect(url, autocommit=True, prepare_threshold=0) as db:
        index_bytes = db.execute(f"SELECT pg_relation_size('{index}')").fetchone()[0] / lane.n
        table_bytes = db.execute(f"SELECT pg_total_relation_size('{table}') - pg_relation_size('{index}')").fetchone()[0] / lane.n
        for ef in EFS:
            db.execute(f"SET hnsw.ef_search = {ef}")
            for text in texts[:50]:
                db.execute(statement, (text,)).fetchall()  # warm-up
            started = time.perf_counter()
            found = [[row[0] for row in db.execute(statement, (text,)).fetchall()] for text in texts]
            qps = len(texts) / (time.perf_counter() - started)
            r = recall(found, lane.truth)
            lane.record("pgvector", f"HNSW M16 efC{efc}", ef, r, qps, built, index_bytes, build_workers=args.workers,
                        table_bytes_per_item=round(table_bytes, 1), load_seconds=round(loaded, 1), timed_queries=len(texts))
            # Akin over PostgreSQL: the same index through the gallery API.
            db.execute("UPDATE akin.galleries SET index_settings = %s WHERE name = %s",
                       (json.dumps({"kind": "hnsw", "m": 16, "efConstruction": efc, "efSearch": ef}), collection))
            r2, qps2, count = lane.akin_search(address)
            lane.record("akin-pg", f"HNSW M16 efC{efc}", ef, r2, qps2, built, index_bytes, timed_queries=count)
            reached += r >= 0.999
            if reached == 2:
                break


def summary(args):
    rows = [json.loads(line) for line in open(args.results)]
    print(f"\nfastest setting with recall@10 >= {args.floor}, one query at a time, one thread:")
    print("| n × d | system | index | setting | recall@10 | queries/s | build s | bytes/item |")
    print("|---|---|---|---|---|---|---|---|")
    groups = {}
    for row in rows:
        groups.setdefault((row["n"], row["d"], row["system"], row["index"]), []).append(row)
    for (n, d, system, index), group in groups.items():
        good = [r for r in group if r["recall_at_10"] >= args.floor]
        if not good:
            top = max(group, key=lambda r: r["recall_at_10"])
            print(f"| {n:,} × {d} | {system} | {index} | never reached {args.floor} (best {top['recall_at_10']:.4f} at {top['setting']}) | | | {top['build_seconds']} | {top['bytes_per_item']} |")
            continue
        r = max(good, key=lambda r: r["queries_per_second"])
        table = f" (+{r['table_bytes_per_item']} table)" if "table_bytes_per_item" in r else ""
        print(f"| {n:,} × {d} | {system} | {index} | {r['setting']} | {r['recall_at_10']:.4f} | {r['queries_per_second']:,.0f} | "
              f"{r['build_seconds']} | {r['bytes_per_item']}{table} |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("step", choices=["prepare", "akin", "pgvector", "summary"])
    p.add_argument("--akin")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--exact-queries", type=int, default=100, help="queries timed for flat and sq8 (a scan of every item each)")
    p.add_argument("--ef-construction", type=int, default=64)
    p.add_argument("--lists", type=int, default=None, help="IVF-PQ cells (default 1024 up to 2M items, 4096 past)")
    p.add_argument("--kinds", default="flat,hnsw,sq8,ivfpq")
    p.add_argument("--floor", type=float, default=0.99)
    p.add_argument("--workers", type=int, default=0, help="pgvector: parallel maintenance workers for the build (0: the leader alone, one thread)")
    p.add_argument("--server")
    p.add_argument("--work")
    p.add_argument("--results")
    args = p.parse_args()
    {"prepare": prepare, "akin": akin_lane, "pgvector": pgvector_lane, "summary": summary}[args.step](args)


if __name__ == "__main__":
    main()
