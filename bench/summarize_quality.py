#!/usr/bin/env python3
"""Records and tables for bench/quality.sh (standard library only).

  summarize_quality.py akin-record --variant V --steps N --command-seconds S --train-log F
                                   --akin-eval F --pml-score F          (one JSON line on stdout)
  summarize_quality.py torch-record --variant V --command-seconds S --output F   (pml_reference.py's line)
  summarize_quality.py pixels-record --variant V --akin-eval F --pml-score F
  summarize_quality.py table RESULTS.jsonl                              (markdown on stdout)
"""
import argparse
import json
import re
import sys

VARIANTS = {"all-classes": "Fashion-MNIST, train on all 10 classes, leave-one-out on the 10,000 test images",
            "class-disjoint": "train on the classes not held out (quality.sh --held-out, default 0,2,4,6), leave-one-out on the test images of the held-out classes, unseen in training"}


def read_json(path):
    """The last line of a file that parses as a JSON object (tools may print notes before it)."""
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"{path} holds no JSON line")
    return json.loads(lines[-1])


def akin_training_figures(log_path):
    """Steps, seconds and images/s from `akin train`'s closing line: "trained N steps in M:SS: … images/s"."""
    with open(log_path, errors="replace") as f:
        text = f.read()
    found = re.findall(r"trained (\d+) steps in ([\d:]+): .*?([\d.]+) images/s", text)
    if not found:
        return None, None
    _, duration, rate = found[-1]
    seconds = 0
    for part in duration.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds, float(rate)


def metrics(pml):
    return {k: pml[k] for k in ("precision_at_1", "r_precision", "map_at_r", "nmi", "queries")}


def akin_record(args):
    seconds, rate = akin_training_figures(args.train_log)
    record = {"side": "akin", "variant": args.variant, "recipe": "akin train defaults", "steps": args.steps,
              "train_seconds": seconds if seconds is not None else args.command_seconds,
              "train_seconds_source": "akin's closing line" if seconds is not None else "command wall time",
              "command_seconds": args.command_seconds, "images_per_second": rate,
              **metrics(read_json(args.pml_score)), "akin_eval": read_json(args.akin_eval)}
    record["minutes"] = record["train_seconds"] / 60
    print(json.dumps(record))


def torch_record(args):
    print(json.dumps({**read_json(args.output), "variant": args.variant, "command_seconds": args.command_seconds}))


def pixels_record(args):
    print(json.dumps({"side": "pixels", "variant": args.variant, "recipe": "raw pixels, unit length",
                      **metrics(read_json(args.pml_score)), "akin_eval": read_json(args.akin_eval) if args.akin_eval else None}))


def number(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def table(args):
    with open(args.results) as f:
        records = [json.loads(line) for line in f if line.strip()]
    for variant, title in VARIANTS.items():
        rows = [r for r in records if r.get("variant") == variant]
        if not rows:
            continue
        pixels = next((r for r in rows if r["side"] == "pixels"), None)
        print(f"\n{title}; metrics by pytorch-metric-learning's AccuracyCalculator (k = max_bin_count, self excluded)\n")
        header = "| side | recipe | steps | minutes | images/s | P@1 | MAP@R | R-Precision | NMI |"
        if pixels:
            header += " MAP@R / pixels |"
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        for r in rows:
            cells = [r["side"], r["recipe"], str(r.get("steps", "–")), number(r.get("minutes"), 1),
                     number(r.get("images_per_second"), 0), number(r["precision_at_1"]), number(r["map_at_r"]),
                     number(r["r_precision"]), number(r["nmi"])]
            if pixels:
                cells.append(f"{r['map_at_r'] / pixels['map_at_r']:.2f}")
            print("| " + " | ".join(cells) + " |")
        for r in rows:
            own = r.get("akin_eval")
            if own:
                # Akin's own evaluator on the same vectors: its P@1 and MAP@R should match pml's.
                print(f"\n`akin eval` for {r['side']}: P@1 {number(own.get('precision_at_1'))}, MAP@R {number(own.get('map_at_r'))}"
                      f" (pml: {number(r['precision_at_1'])}, {number(r['map_at_r'])})")
        akin = next((r for r in rows if r["side"] == "akin"), None)
        torch = next((r for r in rows if r["side"] == "pytorch-pml"), None)
        if akin and torch:
            p1 = 100 * (akin["precision_at_1"] - torch["precision_at_1"])
            mapr = 100 * (akin["map_at_r"] - torch["map_at_r"])
            verdict = "within 1 point of or above the reference" if p1 >= -1 and mapr >= -1 else "more than 1 point below the reference"
            print(f"\nAkin − PyTorch + pml: P@1 {p1:+.1f} points, MAP@R {mapr:+.1f} points: {verdict}.")


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    a = commands.add_parser("akin-record")
    a.add_argument("--variant", choices=VARIANTS, required=True)
    a.add_argument("--steps", type=int, required=True)
    a.add_argument("--command-seconds", type=float, required=True)
    a.add_argument("--train-log", required=True)
    a.add_argument("--akin-eval", required=True)
    a.add_argument("--pml-score", required=True)
    r = commands.add_parser("torch-record")
    r.add_argument("--variant", choices=VARIANTS, required=True)
    r.add_argument("--command-seconds", type=float, required=True)
    r.add_argument("--output", required=True)
    p = commands.add_parser("pixels-record")
    p.add_argument("--variant", choices=VARIANTS, required=True)
    p.add_argument("--akin-eval")
    p.add_argument("--pml-score", required=True)
    t = commands.add_parser("table")
    t.add_argument("results")
    args = parser.parse_args()
    {"akin-record": akin_record, "torch-record": torch_record, "pixels-record": pixels_record, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
