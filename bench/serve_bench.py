#!/usr/bin/env python3
"""bench/serve.sh: `akin serve` under wrk beside Akin's in-process rates, on one machine, one run."""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search_bench import make_data, recall, run  # noqa: E402

VECTOR_LUA = """
local bodies = {}
for line in io.lines(os.getenv("AKIN_BODIES")) do bodies[#bodies + 1] = line end
local i = math.random(#bodies)
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", os.getenv("AKIN_PATH"), {["Content-Type"] = "application/json"}, bodies[i])
end
"""

IMAGE_LUA = """
local images = {}
for name in io.lines(os.getenv("AKIN_BODIES")) do
  local f = assert(io.open(name, "rb")); images[#images + 1] = f:read("*a"); f:close()
end
local i = math.random(#images)
request = function()
  i = i % #images + 1
  return wrk.format("POST", os.getenv("AKIN_PATH"), {["Content-Type"] = "image/png"}, images[i])
end
"""


def wrk(url, path, bodies, script, concurrency, seconds, threads):
    env = dict(os.environ, AKIN_BODIES=bodies, AKIN_PATH=path)
    done = subprocess.run(["wrk", "-t", str(min(threads, concurrency)), "-c", str(concurrency), "-d", f"{seconds}s", "--latency",
                           "--timeout", "10s", "-s", script, url], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    out = done.stdout

    def millis(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(x) for x in socket.groups())
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return dict(requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), p50_ms=millis(50), p99_ms=millis(99),
                errors=errors, requests=requests, raw=out)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


class Server:
    def __init__(self, akin, folder):
        self.process = subprocess.Popen([akin, "serve", "--dir", folder, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        m = re.search(r"listening on (http://[\d.]+:\d+)", line)
        if not m:
            sys.exit(f"akin serve did not start: {line}{self.process.stderr.read()}")
        self.url = m.group(1)
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/readyz").status == 200:
                    return
            except Exception:
                time.sleep(0.2)
        sys.exit("akin serve never became ready")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        if code != 0:
            sys.exit(f"akin serve exited {code}: {self.process.stderr.read()}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--akin", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    p.add_argument("--soak", type=int, default=60, help="seconds of the soak")
    p.add_argument("--warmup", type=int, default=60,
                   help="seconds of the same load before the soak: the indexes' scratch space and the allocator's arenas fill up first")
    p.add_argument("--images", type=int, default=2000, help="test images for the image side")
    p.add_argument("--repeats", type=int, default=3, help="runs of each measurement, the best kept")
    args = p.parse_args()
    akin = os.path.abspath(args.akin)
    work = os.path.abspath(args.work)
    served = os.path.join(work, "served")
    os.makedirs(os.path.join(served, "models"), exist_ok=True)
    cores = os.cpu_count()
    rows = []

    def record(**row):
        row = dict(cpu_cores=cores, **row)
        rows.append(row)
        with open(args.results, "a") as f:
            f.write(json.dumps({k: v for k, v in row.items() if k != "raw"}) + "\n")
        print({k: v for k, v in row.items() if k != "raw"}, flush=True)

    # Vector side: the gallery, an HNSW index at recall@10 ≥ 0.99, the in-process one-at-a-time rate.
    data = argparse.Namespace(data="fmnist", n=60000, queries=10000)
    base, queries = make_data(data)
    np.save(os.path.join(work, "base.npy"), base)
    np.save(os.path.join(work, "queries.npy"), queries)
    # The exact top 10 in blocks of queries (a whole 10,000 × 60,000 similarity matrix would take gigabytes).
    truth = np.concatenate([np.argsort(-(queries[i:i + 500] @ base.T), axis=1)[:, :10] for i in range(0, len(queries), 500)])
    gallery = os.path.join(served, "fm.akin")
    run([akin, "gallery", "create", "--dim", "64", "--out", gallery])
    run([akin, "gallery", "add", "--gallery", gallery, "--vectors", os.path.join(work, "base.npy")])
    for ef in [64, 96, 128, 192, 256]:
        run([akin, "index", "build", "--gallery", gallery, "--kind", "hnsw", "--ef-search", str(ef)])
        done = run([akin, "search", "--gallery", gallery, "--vectors", os.path.join(work, "queries.npy"), "-k", "10", "--json",
                    "--one-by-one", "--stats"])
        found = [[r["id"] for r in q["results"]] for q in json.loads(done.stdout)]
        r10 = recall(found, truth)
        if r10 >= 0.99:
            break
    # Timings on a shared 2-core machine wander: every rate is the best of --repeats runs, on both sides.
    rates = [float(re.search(r"([\d.]+) queries/s \(CPU", done.stderr).group(1))]
    for _ in range(args.repeats - 1):
        again = run([akin, "search", "--gallery", gallery, "--vectors", os.path.join(work, "queries.npy"), "-k", "10", "--json",
                     "--one-by-one", "--stats"])
        rates.append(float(re.search(r"([\d.]+) queries/s \(CPU", again.stderr).group(1)))
    in_process = max(rates)
    record(kind="in-process vector search, one at a time", index=f"HNSW M16 efSearch {ef}", recall10=r10, queries_per_s=in_process,
           runs=rates)

    bodies = os.path.join(work, "vector-bodies.jsonl")
    with open(bodies, "w") as f:
        for q in queries[:2000]:
            f.write(json.dumps({"vector": [round(float(x), 7) for x in q], "k": 10}) + "\n")
    script = os.path.join(work, "vectors.lua")
    with open(script, "w") as f:
        f.write(VECTOR_LUA)
    image_script = os.path.join(work, "images.lua")
    with open(image_script, "w") as f:
        f.write(IMAGE_LUA)

    # Image side: a short model, and `akin embed`'s images/s on the same PNGs the server gets.
    fmnist = os.environ.get("AKIN_BENCH_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
    images = os.path.join(work, "images")
    if not os.path.isdir(images):
        names = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
        run([akin, "import-idx", "--images", f"{fmnist}/t10k-images-idx3-ubyte.gz", "--labels", f"{fmnist}/t10k-labels-idx1-ubyte.gz",
             "--class-names", names, "--out", images])
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(images) for f in fs if f.endswith(".png"))[: args.images]
    subset = os.path.join(work, "subset")
    if not os.path.isdir(subset):
        for f in files:
            target = os.path.join(subset, os.path.basename(os.path.dirname(f)), os.path.basename(f))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(f, target)
    model = os.path.join(served, "models", "m.safetensors")
    run([akin, "train", images, "--steps", "100", "--out", model])
    embedded = os.path.join(work, "embedded.akin")
    embed_rates = []
    for _ in range(args.repeats):
        started = time.time()
        run([akin, "embed", "--model", model, "--out", embedded, "--overwrite", subset])
        embed_rates.append(len(files) / (time.time() - started))
    embed_rate = max(embed_rates)
    record(kind="in-process akin embed", images=len(files), images_per_s=embed_rate, runs=embed_rates)
    shutil.copy(embedded, os.path.join(served, "fmimg.akin"))
    image_list = os.path.join(work, "image-files.txt")
    with open(image_list, "w") as f:
        f.write("\n".join(files) + "\n")

    server = Server(akin, served)
    try:
        def best(*arguments):
            return max((wrk(*arguments) for _ in range(args.repeats)), key=lambda r: r["requests_per_s"])
        for c in [1, 16, 64]:
            result = best(server.url, "/v1/collections/fm/search", bodies, script, c, args.duration, 2)
            record(kind="HTTP vector search", concurrency=c, ratio_to_in_process=result["requests_per_s"] / in_process, **result)
        result = best(server.url, "/v1/collections/fmimg/search/image?k=10", image_list, image_script, 32, args.duration, 2)
        record(kind="HTTP image search", concurrency=32, ratio_to_akin_embed=result["requests_per_s"] / embed_rate, **result)
        warm = rss_kb(server.process.pid)
        wrk(server.url, "/v1/collections/fm/search", bodies, script, 16, args.warmup, threads=2)
        start = rss_kb(server.process.pid)
        result = wrk(server.url, "/v1/collections/fm/search", bodies, script, 16, args.soak, threads=2)
        end = rss_kb(server.process.pid)
        record(kind="soak, HTTP vector search", concurrency=16, seconds=args.soak, warmup_seconds=args.warmup, rss_before_warmup_kb=warm,
               rss_start_kb=start, rss_end_kb=end,
               rss_growth=(end - start) / start, **result)
    finally:
        server.stop()

    print()
    print("| measurement | concurrency | rate | p50 | p99 | errors | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        rate = r.get("requests_per_s") or r.get("queries_per_s") or r.get("images_per_s")
        ratio = r.get("ratio_to_in_process") or r.get("ratio_to_akin_embed")
        print(f"| {r['kind']} | {r.get('concurrency', '')} | {rate:,.0f}/s | {r.get('p50_ms', '')} | {r.get('p99_ms', '')} | "
              f"{r.get('errors', '')} | {'' if ratio is None else f'{ratio:.2f}×'} |")


if __name__ == "__main__":
    main()
