#!/usr/bin/env python3
"""Akin's default training recipe in PyTorch + pytorch-metric-learning: the reference that Akin's
retrieval quality is held to (bench/quality.sh runs both).

  pml_reference.py [--steps 2000] [--miner all|hard|semi-hard|pml-semi-hard] [--train-classes 0,1,2,3,4,5]
                   [--eval-classes 6,7,8,9] [--out-embeddings test.npy] …
  pml_reference.py --eval-embeddings gallery.akin|gallery.safetensors|vectors.npy [--eval-labels labels.npy]
  pml_reference.py --eval-pixels [--eval-classes …]

Trains on the Fashion-MNIST train split (IDX files), then embeds the test split and scores it
leave-one-out (every test image queries all the others, itself excluded) with pml's
AccuracyCalculator: precision_at_1, r_precision, mean_average_precision_at_r and NMI, with
k = "max_bin_count". Prints one JSON line on stdout; progress goes to stderr.

The recipe, exactly (Akin implements the same):
- Input 1×28×28: pixels / 255, then standardised with one mean and one std measured over the
  training images (the classes trained on).
- Augmentation of training images, per image: random crop 28×28 out of the image padded by 2
  pixels of value 0 on every side (black, before standardisation; offsets uniform in 0…4), and
  with --flip (Akin: --flip; off by default in both) a horizontal flip with probability 0.5. Done
  on tensors per batch in the training thread.
- Network "resnet": conv3×3(1→32, stride 1, pad 1, no bias) → BN → ReLU; stages of basic blocks
  with widths 32, 64, 128 (one block each), the first stage stride 1 and the others stride 2 (on
  their first block). Basic block: conv3×3(stride s, pad 1, no bias) → BN → ReLU → conv3×3(pad 1,
  no bias) → BN, plus the shortcut (identity when the shape is unchanged, else conv1×1(stride s,
  no bias) → BN), then ReLU. Global average pooling → Linear(128 → 64, bias) → L2 normalisation.
  BatchNorm: eps 1e-5, running statistics updated with momentum 0.1 (running variance unbiased),
  batch statistics in training, running statistics when embedding.
- Init: convolutions Kaiming-normal (fan_out, ReLU gain: std = √(2 / (out · k²))) as torchvision's
  ResNet; BN weight 1, bias 0; Linear weight Xavier-uniform, bias 0.
- Batches: P = 10 classes drawn without replacement, K = 16 images of each drawn without
  replacement (with replacement only if a class holds fewer than K), fresh every step.
- Loss: pml TripletMarginLoss(margin 0.2) on the L2 distance of the normalised embeddings (pml's
  default LpDistance(normalize_embeddings=True)), reduced by pml's default AvgNonZeroReducer (mean
  over the triplets whose loss is > 0). Miner: "all" = no miner, every (anchor, positive,
  negative) triplet of the batch; "hard" = BatchHardMiner (per anchor, its farthest positive and
  nearest negative); "semi-hard" = FaceNet's, as Akin's --miner semi-hard: one triplet per
  (anchor, positive) pair, with the nearest negative farther than the positive, or the nearest
  negative of all when none is farther (pml has no such miner: facenet_semi_hard below, fed to pml's
  loss as indices); "pml-semi-hard" = pml's TripletMarginMiner(margin 0.2, "semihard"): every
  triplet with 0 < d(a,n) − d(a,p) ≤ margin, no fallback (an anchor without a semi-hard negative
  contributes nothing, and a batch without any gives loss 0 and no update).
- AdamW(lr 6e-3, betas 0.9/0.999, eps 1e-8, weight decay 1e-4 on every parameter, BN and biases
  included). Learning rate at step t = 1…N: lr·t/W for t ≤ W (W = 100 warm-up steps), then
  lr·½(1 + cos(π·(t − W)/(N − W))), which reaches 0 at the last step.
Activations are channels_last by default (--layout), PyTorch's faster layout on this CPU; results do
not depend on it beyond float rounding.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def note(message):
    print(message, file=sys.stderr, flush=True)


# ---- data -------------------------------------------------------------------------------------

def read_idx(path):
    """An IDX file (gzipped or not) as a numpy array of unsigned bytes."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, dimensions = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{path} is not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    shape = struct.unpack(">" + "I" * dimensions, data[4:4 + 4 * dimensions])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


def load_split(data_dir, split, classes):
    """Images [N, 28, 28] uint8 and labels [N] int64 of one split, only the given classes, in file order."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    keep = np.isin(labels, classes)
    return torch.from_numpy(images[keep].copy()), torch.from_numpy(labels[keep].copy())


def class_list(text):
    classes = sorted({int(c) for c in text.split(",")})
    if not classes or min(classes) < 0 or max(classes) > 9:
        raise argparse.ArgumentTypeError(f"{text!r}: give class indices 0–9, comma-separated")
    return classes


def int_list(text):
    return [int(v) for v in text.split(",")]


class PKSampler:
    """Each step: P classes without replacement, K images of each without replacement."""

    def __init__(self, labels, classes_per_batch, images_per_class, generator):
        self.by_class = [torch.nonzero(labels == c).flatten() for c in torch.unique(labels)]
        self.p, self.k, self.generator = classes_per_batch, images_per_class, generator

    def __call__(self):
        chosen = torch.randperm(len(self.by_class), generator=self.generator)[:self.p]
        indices = []
        for c in chosen.tolist():
            members = self.by_class[c]
            if len(members) >= self.k:
                pick = torch.randperm(len(members), generator=self.generator)[:self.k]
            else:
                pick = torch.randint(0, len(members), (self.k,), generator=self.generator)
            indices.append(members[pick])
        return torch.cat(indices)


def augment(x, padding, flip, generator):
    """Random crop of x's size out of x zero-padded by `padding`, then a random horizontal flip:
    one gather per batch. x: [B, 1, H, W] floats."""
    b, _, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (b, 1), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (b, 1), generator=generator)
    rows, cols = torch.arange(h), torch.arange(w)
    if flip:
        flipped = torch.rand(b, 1, generator=generator) < 0.5
        cols = torch.where(flipped, w - 1 - cols, cols)
    else:
        cols = cols.expand(b, w)
    r = (dy + rows)[:, :, None]
    c = (dx + cols)[:, None, :]
    return padded[torch.arange(b)[:, None, None], 0, r, c].unsqueeze(1)


# ---- network ----------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        if stride == 1 and inputs == outputs:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, outputs, 1, stride, bias=False), nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNetEmbedding(nn.Module):
    def __init__(self, widths, blocks, embedding_dim, channels=1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        layers, inputs = [], widths[0]
        for stage, (width, count) in enumerate(zip(widths, blocks)):
            for block in range(count):
                layers.append(BasicBlock(inputs, width, 2 if stage > 0 and block == 0 else 1))
                inputs = width
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(inputs, embedding_dim)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return F.normalize(self.head(x.mean(dim=(2, 3))), dim=1)


def warmup_cosine(steps, warmup):
    """LambdaLR factor for 0-based scheduler epoch e, i.e. step t = e + 1."""
    def factor(e):
        t = e + 1
        if t <= warmup:
            return t / warmup
        return 0.5 * (1 + math.cos(math.pi * (t - warmup) / (steps - warmup)))
    return factor


# ---- training and embedding -------------------------------------------------------------------

def make_loss(args, classes):
    from pytorch_metric_learning import losses, miners, reducers
    if args.loss == "normalized-softmax":
        # Akin's --loss normalized-softmax: cosine logits over learned class proxies / temperature.
        return losses.NormalizedSoftmaxLoss(num_classes=classes, embedding_size=args.embedding_dim,
                                            temperature=args.temperature), None
    if args.loss == "multi-similarity":
        # Akin's --loss multi-similarity: pml's loss and miner with the same α, β, base and ε.
        loss = losses.MultiSimilarityLoss(alpha=args.ms_alpha, beta=args.ms_beta, base=args.ms_base)
        return loss, miners.MultiSimilarityMiner(epsilon=args.ms_epsilon)
    # The default reducer, asked to record how many triplets passed (had a loss > 0).
    loss = losses.TripletMarginLoss(margin=args.margin, reducer=reducers.AvgNonZeroReducer(collect_stats=True))
    if args.miner == "all":
        miner = None
    elif args.miner == "hard":
        miner = miners.BatchHardMiner()
    elif args.miner == "semi-hard":
        miner = facenet_semi_hard
    else:
        miner = miners.TripletMarginMiner(margin=args.margin, type_of_triplets="semihard")
    return loss, miner


@torch.no_grad()
def facenet_semi_hard(embeddings, labels):
    """Schroff et al. 2015 as Akin mines it: for every (a, p) pair of one class, a ≠ p, the nearest
    negative with d(a,n) > d(a,p), else the nearest negative of all; L2 on unit-length embeddings."""
    x = F.normalize(embeddings, dim=1)
    d = torch.cdist(x, x)
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(len(labels), dtype=torch.bool)
    a, p = positive.nonzero(as_tuple=True)
    to_all = d[a]                      # [pairs, batch]: each pair's anchor to every image
    negative = ~same[a]
    inf = torch.tensor(float("inf"))
    farther = torch.where(negative & (to_all > d[a, p][:, None]), to_all, inf).min(dim=1)
    nearest = torch.where(negative, to_all, inf).min(dim=1)
    n = torch.where(torch.isfinite(farther.values), farther.indices, nearest.indices)
    return a, p, n


def train(args, images, labels, mean, std, log):
    from pytorch_metric_learning.utils import loss_and_miner_utils as lmu
    torch.manual_seed(args.seed)
    model = ResNetEmbedding(args.widths, args.blocks, args.embedding_dim).to(memory_format=args.memory_format)
    loss_fn, miner = make_loss(args, int(labels.max()) + 1)
    # Akin's --proxy-weight: pml's NormalizedSoftmaxLoss added to the main loss with this weight.
    proxy_fn = None
    if args.proxy_weight > 0 and args.loss != "normalized-softmax":
        from pytorch_metric_learning import losses
        proxy_fn = losses.NormalizedSoftmaxLoss(num_classes=int(labels.max()) + 1, embedding_size=args.embedding_dim,
                                                temperature=args.temperature)
    extra = list(proxy_fn.parameters()) if proxy_fn else []
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(loss_fn.parameters()) + extra, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(args.steps, args.warmup_steps))
    generator = torch.Generator().manual_seed(args.seed)
    classes = len(torch.unique(labels))
    p = min(args.classes_per_batch, classes)
    if p < args.classes_per_batch:
        note(f"only {classes} training classes: {p} classes per batch instead of {args.classes_per_batch}")
    sampler = PKSampler(labels, p, args.images_per_class, generator)

    model.train()
    losses_seen, data_seconds, started = [], 0.0, time.perf_counter()
    for step in range(1, args.steps + 1):
        data_started = time.perf_counter()
        index = sampler()
        x = images[index].float().div_(255).unsqueeze(1)
        x = augment(x, args.crop_padding, args.flip, generator)
        x = ((x - mean) / std).contiguous(memory_format=args.memory_format)
        y = labels[index]
        data_seconds += time.perf_counter() - data_started

        embeddings = model(x)
        proxies = args.loss == "normalized-softmax"
        pairs = args.loss == "multi-similarity"
        triplets = None if proxies else miner(embeddings, y) if miner else lmu.get_all_triplets_indices(y)
        loss = loss_fn(embeddings, y) if proxies else loss_fn(embeddings, y, triplets)
        if proxy_fn is not None:
            loss = loss + args.proxy_weight * proxy_fn(embeddings, y)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()

        value = loss.item()
        if not math.isfinite(value):
            sys.exit(f"step {step}: the loss is {value}; stopping")
        # Multi-similarity: the share of the batch's pairs its miner kept (Akin logs the same).
        offered = len(index) if proxies else len(index) * (len(index) - 1) if pairs else len(triplets[0])
        active = 1.0 if proxies else (len(triplets[0]) + len(triplets[2])) / offered if pairs \
            else loss_fn.reducer.num_past_filter / offered if offered else 0.0
        # The reducer averages over active triplets only, so its value can rise while training
        # works (fewer, harder triplets stay active); the mean over all offered triplets falls.
        mean_over_offered = value if pairs else value * active
        losses_seen.append(mean_over_offered)
        if log:
            log.write(json.dumps({"step": step, "loss": value, "loss_over_offered": mean_over_offered, "active_fraction": active,
                                  "triplets": offered, "learning_rate": lr}) + "\n")
        if step == 1 or step % args.log_every == 0 or step == args.steps:
            elapsed = time.perf_counter() - started
            note(f"step {step}/{args.steps}  loss {value:.4f} (over all offered {mean_over_offered:.4f})  active {active:.3f} of {offered} triplets  lr {lr:.2e}  "
                 f"{step * len(index) / elapsed:.0f} images/s  (batch assembly {100 * data_seconds / elapsed:.1f}%)")
    seconds = time.perf_counter() - started
    window = max(1, min(50, args.steps // 5))
    return model, {
        "train_seconds": seconds,
        "minutes": seconds / 60,
        "images_per_second": args.steps * p * args.images_per_class / seconds,
        "batch_assembly_fraction": data_seconds / seconds,
        "classes_per_batch": p,
        # Mean over all offered triplets, averaged over the first and the last `window` steps.
        "loss_first": float(np.mean(losses_seen[:window])),
        "loss_last": float(np.mean(losses_seen[-window:])),
        "loss_window": window,
    }


@torch.no_grad()
def embed(model, images, mean, std, memory_format, batch=1000):
    model.eval()
    out = [model(((images[i:i + batch].float().div(255).unsqueeze(1) - mean) / std).contiguous(memory_format=memory_format))
           for i in range(0, len(images), batch)]
    return torch.cat(out)


def pixel_vectors(images):
    """Each image's [0, 1] pixels as one unit-length vector: Akin's raw-pixel baseline."""
    return F.normalize(images.float().div(255).flatten(1), dim=1)


# ---- scoring ----------------------------------------------------------------------------------

def score(embeddings, labels, threads):
    """Leave-one-out over the set (query = reference, self excluded), pml's AccuracyCalculator."""
    import faiss
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    faiss.omp_set_num_threads(threads)
    calculator = AccuracyCalculator(include=("precision_at_1", "r_precision", "mean_average_precision_at_r", "NMI"),
                                    k="max_bin_count", device=torch.device("cpu"))
    started = time.perf_counter()
    m = calculator.get_accuracy(np.ascontiguousarray(embeddings, dtype=np.float32), np.asarray(labels))
    return {"precision_at_1": m["precision_at_1"], "r_precision": m["r_precision"],
            "map_at_r": m["mean_average_precision_at_r"], "nmi": float(m["NMI"]),
            "queries": len(labels), "scoring_seconds": time.perf_counter() - started}


def read_safetensors_gallery(path):
    """Akin's gallery file: tensor "vectors" [N, D] F32, labels (class names) in metadata "akin.labels"."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    tensor = header.get("vectors")
    if tensor is None or tensor.get("dtype") != "F32" or len(tensor.get("shape", [])) != 2:
        sys.exit(f"{path}: no F32 tensor 'vectors' of rank 2; is it a gallery written by `akin embed`?")
    start, end = tensor["data_offsets"]
    vectors = np.frombuffer(blob, dtype="<f4", offset=8 + length + start, count=(end - start) // 4).reshape(tensor["shape"]).copy()
    names = json.loads(header.get("__metadata__", {}).get("akin.labels", "null") or "null")
    if names is None or len(names) != len(vectors):
        sys.exit(f"{path}: metadata 'akin.labels' is missing or does not have one label per vector")
    return vectors, numbered(names)


def numbered(names):
    """Folder names "0"…"9" (as bench/quality.sh imports them) keep their numbers; other names are numbered in sorted order."""
    if all(n.isdigit() for n in names):
        return np.array([int(n) for n in names])
    ids = {n: i for i, n in enumerate(sorted(set(names)))}
    return np.array([ids[n] for n in names])


def read_sqlite_gallery(path):
    """Akin's SQLite gallery (`akin embed`, `akin gallery`): table items (id, label, vector BLOB of float32), meta (dimension)."""
    import sqlite3
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    if meta.get("format") != "akin-gallery-sqlite-1":
        sys.exit(f"{path}: not an akin SQLite gallery (no akin-gallery-sqlite-1 format mark)")
    d = int(meta["dimension"])
    rows = db.execute("SELECT label, vector FROM items ORDER BY id").fetchall()
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), d).copy()
    return vectors, numbered([r[0] for r in rows])


def eval_embeddings(args):
    with open(args.eval_embeddings, "rb") as f:
        is_sqlite = f.read(16).startswith(b"SQLite format 3")
    if is_sqlite or args.eval_embeddings.endswith(".safetensors"):
        vectors, labels = (read_sqlite_gallery if is_sqlite else read_safetensors_gallery)(args.eval_embeddings)
        if args.eval_labels:
            labels = np.load(args.eval_labels)
    else:
        vectors = np.load(args.eval_embeddings)
        if args.eval_labels:
            labels = np.load(args.eval_labels)
        else:
            # Rows in the order pml_reference.py --out-embeddings writes them: the test split's file order.
            _, labels = load_split(args.data_dir, "test", args.eval_classes)
            labels = labels.numpy()
    if len(labels) != len(vectors):
        sys.exit(f"{args.eval_embeddings} holds {len(vectors)} vectors but there are {len(labels)} labels; pass --eval-labels")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.allclose(norms, 1, atol=1e-3):
        note(f"note: the vectors are not unit length (norms {norms.min():.3f}…{norms.max():.3f}); scored as they are, by L2 distance")
    return {"source": args.eval_embeddings, **score(vectors, labels, args.threads)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    recipe = parser.add_argument_group("recipe (defaults: Akin's default recipe)")
    recipe.add_argument("--steps", type=int, default=2000)
    recipe.add_argument("--widths", type=int_list, default=[32, 64, 128])
    recipe.add_argument("--blocks", type=int_list, default=[1, 1, 1])
    recipe.add_argument("--embedding-dim", type=int, default=64)
    recipe.add_argument("--classes-per-batch", type=int, default=10, help="P")
    recipe.add_argument("--images-per-class", type=int, default=16, help="K")
    recipe.add_argument("--loss", choices=["triplet", "normalized-softmax", "multi-similarity"], default="triplet")
    recipe.add_argument("--ms-alpha", type=float, default=2.0, help="multi-similarity")
    recipe.add_argument("--ms-beta", type=float, default=50.0, help="multi-similarity")
    recipe.add_argument("--ms-base", type=float, default=0.5, help="multi-similarity")
    recipe.add_argument("--ms-epsilon", type=float, default=0.1, help="multi-similarity miner")
    recipe.add_argument("--temperature", type=float, default=0.05, help="normalized softmax")
    recipe.add_argument("--proxy-weight", type=float, default=0.0, help="weight of a normalized-softmax term added to the main loss")
    recipe.add_argument("--margin", type=float, default=0.2)
    recipe.add_argument("--miner", choices=["all", "hard", "semi-hard", "pml-semi-hard"], default="all")
    recipe.add_argument("--lr", type=float, default=6e-3)
    recipe.add_argument("--weight-decay", type=float, default=1e-4)
    recipe.add_argument("--warmup-steps", type=int, default=100)
    recipe.add_argument("--crop-padding", type=int, default=0)
    recipe.add_argument("--flip", action="store_true", help="random horizontal flips (Akin: --flip; off by default)")
    recipe.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-classes", type=class_list, default=list(range(10)), help="comma list of classes 0–9 to train on")
    parser.add_argument("--eval-classes", type=class_list, default=list(range(10)), help="test classes to evaluate on")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--layout", choices=["channels_last", "contiguous"], default="channels_last",
                        help="activation layout; channels_last is PyTorch's faster one on this CPU (bench/speed.sh)")
    parser.add_argument("--data-dir", default=FASHION_MNIST, help="folder of the four Fashion-MNIST .gz IDX files")
    parser.add_argument("--out-embeddings", help="write the test embeddings here (.npy, rows in test-file order)")
    parser.add_argument("--log", help="one JSON line per training step to this file")
    parser.add_argument("--log-every", type=int, default=100, help="progress line every N steps (stderr)")
    parser.add_argument("--eval-embeddings", help="score these embeddings instead of training (.npy, or an Akin gallery: SQLite, or the older .safetensors)")
    parser.add_argument("--eval-labels", help="labels (.npy) for --eval-embeddings; default: the gallery's, or the test split's for --eval-classes")
    parser.add_argument("--eval-pixels", action="store_true", help="score the raw-pixel baseline of --eval-classes instead of training")
    args = parser.parse_args()
    if len(args.widths) != len(args.blocks) or min(args.blocks) < 1:
        parser.error("--widths and --blocks need one entry per stage, each stage at least one block")
    if args.steps < 1 or args.classes_per_batch < 2 or args.images_per_class < 2:
        parser.error("--steps must be positive; --classes-per-batch and --images-per-class at least 2")
    torch.set_num_threads(args.threads)
    args.memory_format = torch.channels_last if args.layout == "channels_last" else torch.contiguous_format
    versions = {"torch": torch.__version__}

    if args.eval_embeddings:
        print(json.dumps({**eval_embeddings(args), "threads": args.threads}))
        return
    test_images, test_labels = load_split(args.data_dir, "test", args.eval_classes)
    if args.eval_pixels:
        result = score(pixel_vectors(test_images).numpy(), test_labels.numpy(), args.threads)
        print(json.dumps({"source": "pixels", "eval_classes": args.eval_classes, **result, "threads": args.threads}))
        return

    import faiss
    import pytorch_metric_learning
    versions.update(pml=pytorch_metric_learning.__version__, faiss=faiss.__version__)
    images, labels = load_split(args.data_dir, "train", args.train_classes)
    pixels = images.float().div(255)
    mean, std = pixels.mean().item(), pixels.std().item()
    del pixels
    note(f"{len(images)} training images of classes {args.train_classes} (mean {mean:.4f}, std {std:.4f}); "
         f"{len(test_images)} test images of classes {args.eval_classes}; {args.threads} threads")
    log = open(args.log, "w") if args.log else None
    model, stats = train(args, images, labels, mean, std, log)
    if log:
        log.close()
    started = time.perf_counter()
    vectors = embed(model, test_images, mean, std, args.memory_format).numpy()
    embed_seconds = time.perf_counter() - started
    if args.out_embeddings:
        np.save(args.out_embeddings, vectors)
    metrics = score(vectors, test_labels.numpy(), args.threads)
    recipe = (f"resnet {','.join(map(str, args.widths))}×{','.join(map(str, args.blocks))} d{args.embedding_dim}, "
              f"P{stats['classes_per_batch']}×K{args.images_per_class}, {'normalized softmax T ' + str(args.temperature) if args.loss == 'normalized-softmax' else f'multi-similarity α {args.ms_alpha} β {args.ms_beta} base {args.ms_base} ε {args.ms_epsilon}' if args.loss == 'multi-similarity' else f'triplet {args.margin} {args.miner}'}"
              f"{f' + {args.proxy_weight:g} × normalized softmax T {args.temperature:g}' if args.proxy_weight > 0 and args.loss != 'normalized-softmax' else ''}, "
              f"AdamW {args.lr:g} wd {args.weight_decay:g}, warm-up {args.warmup_steps} + cosine, "
              f"crop pad {args.crop_padding}{' + flip' if args.flip else ''}")
    print(json.dumps({"side": "pytorch-pml", "recipe": recipe, "steps": args.steps, "seed": args.seed, "miner": args.miner,
                      "train_classes": args.train_classes, "eval_classes": args.eval_classes, **stats,
                      "embed_images_per_second": len(test_images) / embed_seconds, **metrics,
                      "threads": args.threads, "layout": args.layout, **versions}))


if __name__ == "__main__":
    main()
