#!/usr/bin/env python3
"""The seed network in PyTorch, timed the way bench/AkinBench times Akin.

  pytorch_seed.py train --channels C [--layout channels_last|contiguous] [--steps N]
  pytorch_seed.py embed --channels C [--layout …]

Prints one JSON object: images/s (median step after warm-up), peak RSS in bytes.
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn


def seed_network(channels, dim=28):
    # TensorFlow SAME pooling for 2x2/2 is ceil_mode pooling: the odd edge's window is partial.
    pool = lambda: nn.MaxPool2d(2, 2, ceil_mode=True)
    return nn.Sequential(
        nn.Conv2d(channels, 32, 7, padding="same"), nn.ReLU(), pool(),
        nn.Conv2d(32, 64, 5, padding="same"), nn.ReLU(), pool(),
        nn.Conv2d(64, 128, 3, padding="same"), nn.ReLU(), pool(),
        nn.Conv2d(128, 256, 1), nn.ReLU(), pool(),
        nn.Conv2d(256, dim, 1), pool(),
        nn.Flatten(),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["train", "embed"])
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--layout", default="channels_last", choices=["channels_last", "contiguous"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    memory_format = torch.channels_last if args.layout == "channels_last" else torch.contiguous_format

    net = seed_network(args.channels)
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    net = net.to(memory_format=memory_format)
    # The same in-memory data as Akin's benchmark: 10,000 random 8-bit images, standardised per batch.
    images = torch.randint(0, 256, (10000, args.channels, 28, 28), dtype=torch.uint8)
    generator = torch.Generator().manual_seed(1)
    times = []
    if args.mode == "train":
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.99, nesterov=True)
        loss_fn = nn.TripletMarginLoss(margin=0.5, p=2)
        per_step = 3 * args.batch
        for step in range(args.warmup + args.steps):
            start = time.perf_counter()
            index = torch.randint(0, len(images), (per_step,), generator=generator)
            x = ((images[index].float() / 255 - 0.5) / 0.25).contiguous(memory_format=memory_format)
            out = net(x)
            a, p, n = out[:args.batch], out[args.batch:2 * args.batch], out[2 * args.batch:]
            loss = loss_fn(a, p, n)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step >= args.warmup:
                times.append(time.perf_counter() - start)
    else:
        per_step = 1024
        net.eval()
        with torch.no_grad():
            for step in range(args.warmup + args.steps):
                start = time.perf_counter()
                index = torch.arange(step * per_step, (step + 1) * per_step) % len(images)
                x = ((images[index].float() / 255 - 0.5) / 0.25).contiguous(memory_format=memory_format)
                out = net(x)
                out = out / out.norm(dim=1, keepdim=True)
                if step >= args.warmup:
                    times.append(time.perf_counter() - start)
    print(json.dumps({"images_per_second": per_step / statistics.median(times),
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "steps": len(times), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
