#!/usr/bin/env python3
"""Turns bench/speed.sh's JSON lines into the table for bench/README.md (best round of each)."""
import json
import os
import sys
from datetime import date


def seed_flops(channels):
    """Forward FLOPs per 28x28 image: 2·H·W·Cout·Cin·k² per convolution, and the first one alone."""
    layers = [(28, channels, 32, 7), (14, 32, 64, 5), (7, 64, 128, 3), (4, 128, 256, 1), (2, 256, 28, 1)]
    each = [2 * s * s * cout * cin * k * k for s, cin, cout, k in layers]
    return sum(each), each[0]


rows = [json.loads(line) for line in open(sys.argv[1])]
threads = sys.argv[2]
peak = next(r["gflops"] for r in rows if r["kind"] == "peak")
machine = next((r for r in rows if r["kind"] == "machine"), None)
best = {}
for r in rows:
    if r["kind"] in ("peak", "machine"):
        continue
    key = (r["channels"], r["mode"], r["kind"])
    if key not in best or r["result"]["images_per_second"] > best[key]["images_per_second"]:
        best[key] = r["result"]

if machine:
    print(f"{machine['cpu']}; DNNL_MAX_CPU_ISA={machine['dnnl_max_cpu_isa']}; SIMD flags: {' '.join(machine['simd_flags'])}\n")
print(f"{date.today()}, load average {os.getloadavg()[0]:.2f} before the run ended, {threads} threads, "
      f"FMA peak {peak:.0f} GFLOP/s\n")
print("| channels | work | Akin images/s | PyTorch channels_last | PyTorch contiguous | Akin / best PyTorch "
      "| Akin % of peak | Akin peak RSS | PyTorch peak RSS | RSS ratio |")
print("|---|---|---|---|---|---|---|---|---|---|")
for channels in (3, 1):
    forward, first = seed_flops(channels)
    for mode, flops in (("train", 3 * forward - first), ("embed", forward)):
        akin = best.get((channels, mode, "akin"))
        last = best.get((channels, mode, "pytorch-channels_last"))
        contiguous = best.get((channels, mode, "pytorch-contiguous"))
        if not (akin and last and contiguous):
            continue
        torch_best = max(last, contiguous, key=lambda r: r["images_per_second"])
        share = akin["images_per_second"] * flops / (peak * 1e9) * 100
        print(f"| {channels} | {'training' if mode == 'train' else 'inference (batch 1024)'} "
              f"| {akin['images_per_second']:.0f} | {last['images_per_second']:.0f} | {contiguous['images_per_second']:.0f} "
              f"| {akin['images_per_second'] / torch_best['images_per_second']:.2f}× | {share:.0f}% "
              f"| {akin['peak_rss_bytes'] / 2**20:.0f} MiB | {torch_best['peak_rss_bytes'] / 2**20:.0f} MiB "
              f"| {akin['peak_rss_bytes'] / torch_best['peak_rss_bytes']:.2f} |")
