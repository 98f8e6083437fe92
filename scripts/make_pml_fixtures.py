#!/usr/bin/env python3
"""Regenerates Tests/SimilarityTests/Fixtures/pml_mining.json (mined triplet losses),
pml_multi_similarity.json (MultiSimilarityLoss, with and without its MultiSimilarityMiner) and
pml_ntxent.json (NTXentLoss, on pairs of views and on classes): losses and
their embedding gradients computed by pytorch-metric-learning itself, for Akin's losses to match.

Run from the repository root, with torch and pytorch-metric-learning installed, e.g.:
    ~/.cache/akin-bench/venv/bin/pip install pytorch-metric-learning
    ~/.cache/akin-bench/venv/bin/python scripts/make_pml_fixtures.py

Sources of each case:
- "all": TripletMarginLoss (all triplets, its default AvgNonZeroReducer).
- "hard": BatchHardMiner + TripletMarginLoss (AvgNonZeroReducer over the mined triplets).
- soft margin: the same with smooth_loss=True and margin 0, i.e. softplus(D_ap - D_an).
- "semi-hard": pml has no per-(a, p) FaceNet semi-hard miner, so this case is plain torch (autograd)
  written from Akin's definition: for each (a, p), the nearest negative with D_an > D_ap, else the
  nearest negative; reduced like the others.
L2 uses LpDistance(normalize_embeddings=False), cosine CosineSimilarity (pml works in similarities;
its triplet margin on s_an - s_ap is the same hinge on D = 1 - s). pml's L2 has no epsilon and
normalises with max(|x|, 1e-12) rather than sqrt(|x|^2 + 1e-12): the batch is far from both.
Computed in float64 from float32 inputs.
"""
import json
import os

import numpy as np
import torch
from pytorch_metric_learning import distances, losses, miners, reducers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "SimilarityTests", "Fixtures", "pml_mining.json")
MS_OUT = os.path.join(ROOT, "Tests", "SimilarityTests", "Fixtures", "pml_multi_similarity.json")
NTXENT_OUT = os.path.join(ROOT, "Tests", "SimilarityTests", "Fixtures", "pml_ntxent.json")
MS_PARAMETERS = {"alpha": 2.0, "beta": 10.0, "base": 0.5, "epsilon": 0.1}

B, D = 12, 5
MARGINS = {"l2": 0.5, "cosine": 0.2}
SPREAD = 0.5
rng = np.random.default_rng(20260417)
labels = np.array([0, 1, 2, 0, 0, 1, 2, 2, 1, 0, 2, 1], dtype=np.int64)  # 3 classes of 4, interleaved
# Loose clusters, so that every mining has both active and inactive triplets (the reducer shows).
centres = rng.standard_normal((3, D))
embeddings = (centres[labels] + SPREAD * rng.standard_normal((B, D))).astype(np.float32)


def distance_matrix(e, kind):
    """Akin's distances, with its epsilon, in torch (differentiable)."""
    if kind == "l2":
        diff = e[:, None, :] - e[None, :, :]
        return torch.sqrt((diff * diff).sum(-1) + 1e-12)
    n = torch.sqrt((e * e).sum(-1) + 1e-12)
    return 1 - (e @ e.T) / (n[:, None] * n[None, :])


def check_no_near_ties(dm, kind):
    """Fails unless every hinge and every mining choice is clear of its switching point, so float32
    rounding (and pml's missing epsilon) cannot change what is mined or which losses count."""
    dm = dm.detach().numpy()
    gap = 1e-4

    def clear_minimum(values):
        s = np.sort(values)
        return len(s) < 2 or s[1] - s[0] > gap

    for a in range(B):
        pos = [j for j in range(B) if j != a and labels[j] == labels[a]]
        neg = [j for j in range(B) if labels[j] != labels[a]]
        assert clear_minimum([-dm[a, p] for p in pos]), f"hardest positive of {a} near a tie"
        assert clear_minimum([dm[a, n] for n in neg]), f"hardest negative of {a} near a tie"
        for p in pos:
            assert clear_minimum([dm[a, n] for n in neg if dm[a, n] > dm[a, p]]), f"semi-hard negative of {(a, p)} near a tie"
            for n in neg:
                x = dm[a, p] - dm[a, n]
                assert abs(x) > gap and abs(x + MARGINS[kind]) > gap, f"hinge near zero at {(a, p, n)}"


def semi_hard_loss(e, kind, margin, soft):
    dm = distance_matrix(e, kind)
    terms = []
    for a in range(B):
        neg = [j for j in range(B) if labels[j] != labels[a]]
        nearest = min(neg, key=lambda n: dm[a, n].item())
        for p in range(B):
            if p == a or labels[p] != labels[a]:
                continue
            farther = [n for n in neg if dm[a, n].item() > dm[a, p].item()]
            n = min(farther, key=lambda n: dm[a, n].item()) if farther else nearest
            x = dm[a, p] - dm[a, n]
            terms.append(torch.nn.functional.softplus(x) if soft else torch.relu(x + margin))
    t = torch.stack(terms)
    kept = t if soft else t[t > 0]
    loss = kept.mean() if len(kept) else e.sum() * 0
    return loss, len(terms)


def pml_distance(kind):
    return distances.LpDistance(normalize_embeddings=False) if kind == "l2" else distances.CosineSimilarity()


def case(mining, kind, soft):
    margin = 0.0 if soft else MARGINS[kind]
    e = torch.tensor(embeddings, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(labels)
    if mining == "semi-hard":
        loss, triplets = semi_hard_loss(e, kind, margin, soft)
        source = "torch autograd, Akin's semi-hard definition"
    else:
        reducer = reducers.AvgNonZeroReducer(collect_stats=True)
        loss_func = losses.TripletMarginLoss(margin=margin, smooth_loss=soft, distance=pml_distance(kind), reducer=reducer)
        if mining == "all":
            loss = loss_func(e, y)
            source = f"pml TripletMarginLoss(margin={margin}, smooth_loss={soft})"
        else:
            miner = miners.BatchHardMiner(distance=pml_distance(kind))
            loss = loss_func(e, y, miner(e, y))
            source = f"pml BatchHardMiner + TripletMarginLoss(margin={margin}, smooth_loss={soft})"
        triplets = loss_func.reducer.losses_size  # the loss keeps a deep copy of the reducer
    loss.backward()
    dm = distance_matrix(e, kind).detach().numpy()
    mined = mined_triplets(dm, mining)
    assert len(mined) == triplets, (mining, kind, len(mined), triplets)
    # Active: a non-zero hinge, or with a soft margin D_an < D_ap (Akin's definition; pml has none).
    differences = np.array([dm[a, p] - dm[a, n] for a, p, n in mined])
    active = int((differences > 0).sum()) if soft else int((differences + margin > 0).sum())
    return {
        "mining": mining, "distance": kind, "soft_margin": soft, "margin": margin,
        "loss": loss.item(), "gradient": e.grad.flatten().tolist(),
        "triplets": int(triplets), "active": active, "source": source,
    }


def mined_triplets(dm, mining):
    """The mined (a, p, n), from numpy, to count them and their active share."""
    out = []
    for a in range(B):
        pos = [j for j in range(B) if j != a and labels[j] == labels[a]]
        neg = [j for j in range(B) if labels[j] != labels[a]]
        nearest = min(neg, key=lambda n: dm[a, n])
        if mining == "all":
            out += [(a, p, n) for p in pos for n in neg]
        elif mining == "hard":
            out.append((a, max(pos, key=lambda p: dm[a, p]), nearest))
        else:
            for p in pos:
                farther = [n for n in neg if dm[a, n] > dm[a, p]]
                out.append((a, p, min(farther, key=lambda n: dm[a, n]) if farther else nearest))
    return out


def pair_means(kind):
    dm = distance_matrix(torch.tensor(embeddings, dtype=torch.float64), kind).numpy()
    same = labels[:, None] == labels[None, :]
    off = ~np.eye(B, dtype=bool)
    return {"mean_positive_distance": float(dm[same & off].mean()), "mean_negative_distance": float(dm[~same].mean())}


def main():
    for kind in MARGINS:
        check_no_near_ties(distance_matrix(torch.tensor(embeddings, dtype=torch.float64), kind), kind)
    cases = [case(m, k, s) for m in ("all", "hard", "semi-hard") for k in ("l2", "cosine") for s in (False, True)]
    for c in cases:
        # Soft margins count D_an < D_ap as active, which semi-hard mining avoids by design.
        assert 0 < c["active"] < c["triplets"] or (c["soft_margin"] and c["mining"] == "semi-hard"), \
            f"uninformative case {c['mining']} {c['distance']} soft={c['soft_margin']}: {c['active']}/{c['triplets']} active"
    fixture = {
        "batch": B, "dimension": D,
        "labels": labels.tolist(),
        "embeddings": [float(v) for v in embeddings.flatten()],
        "pairs": {k: pair_means(k) for k in MARGINS},
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    for c in cases:
        print(f"{c['mining']:9} {c['distance']:6} soft={c['soft_margin']!s:5} loss={c['loss']:.6f} "
              f"active={c['active']}/{c['triplets']}  ({c['source']})")


def multi_similarity_cases():
    """pml's MultiSimilarityLoss (cosine similarity), alone and after its MultiSimilarityMiner.
    β is 10 rather than pml's 50 so that the tiny batch's negatives carry gradients a float32 check can see."""
    p = MS_PARAMETERS
    s = torch.nn.functional.normalize(torch.tensor(embeddings, dtype=torch.float64), dim=1)
    s = (s @ s.T).numpy()
    # The miner compares each pair with its anchor's hardest of the other kind ± ε: keep clear of the edges.
    for a in range(B):
        pos = [s[a, j] for j in range(B) if j != a and labels[j] == labels[a]]
        neg = [s[a, j] for j in range(B) if labels[j] != labels[a]]
        for v in pos:
            assert abs(v - p["epsilon"] - max(neg)) > 1e-4, f"positive of {a} near the miner's edge"
        for v in neg:
            assert abs(v + p["epsilon"] - min(pos)) > 1e-4, f"negative of {a} near the miner's edge"
    cases = []
    for mined in (False, True):
        e = torch.tensor(embeddings, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(labels)
        loss_func = losses.MultiSimilarityLoss(alpha=p["alpha"], beta=p["beta"], base=p["base"])
        if mined:
            tuples = miners.MultiSimilarityMiner(epsilon=p["epsilon"])(e, y)
            loss = loss_func(e, y, tuples)
            pairs = sum(len(t) for t in (tuples[0], tuples[2]))
        else:
            loss = loss_func(e, y)
            pairs = B * (B - 1)
        loss.backward()
        cases.append({"epsilon": p["epsilon"] if mined else None, "loss": loss.item(),
                      "gradient": e.grad.flatten().tolist(), "pairs": int(pairs),
                      "source": f"pml MultiSimilarityLoss(alpha={p['alpha']}, beta={p['beta']}, base={p['base']})"
                                + (f" + MultiSimilarityMiner(epsilon={p['epsilon']})" if mined else "")})
    return cases


def write_multi_similarity():
    cases = multi_similarity_cases()
    fixture = {"batch": B, "dimension": D, "labels": labels.tolist(),
               "embeddings": [float(v) for v in embeddings.flatten()],
               "alpha": MS_PARAMETERS["alpha"], "beta": MS_PARAMETERS["beta"], "base": MS_PARAMETERS["base"],
               "cases": cases}
    with open(MS_OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    for c in cases:
        print(f"multi-similarity loss={c['loss']:.6f} pairs={c['pairs']}  ({c['source']})")


def write_ntxent(temperature=0.2):
    cases = []
    for name, y in (("views", np.arange(B) // 2), ("classes", labels)):
        e = torch.tensor(embeddings, dtype=torch.float64, requires_grad=True)
        loss = losses.NTXentLoss(temperature=temperature)(e, torch.tensor(y))
        loss.backward()
        cases.append({"name": name, "labels": [int(v) for v in y], "loss": loss.item(), "gradient": e.grad.flatten().tolist()})
    fixture = {"batch": B, "dimension": D, "temperature": temperature,
               "embeddings": [float(v) for v in embeddings.flatten()], "cases": cases,
               "source": f"pml NTXentLoss(temperature={temperature})"}
    with open(NTXENT_OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    for c in cases:
        print(f"NT-Xent {c['name']:7} loss={c['loss']:.6f}")


if __name__ == "__main__":
    main()
    write_multi_similarity()
    write_ntxent()
