"""The peer of crates/behaviour/benches/datasets.rs: scikit-learn's IsolationForest on the same
records, split, scaling and 1 % false-positive budget, so the two figures can be read side by side.

Usage: python3 bench/datasets_peer.py [DATASET_DIR]   (default ../shared/datasets/network)
"""

import csv
import gzip
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score


def nsl_kdd(path):
    rows = []
    with gzip.open(path, "rt") as f:
        for line in f:
            cols = line.strip().split(",")
            if len(cols) < 42:
                continue
            numeric = [float(v) for i, v in enumerate(cols[:41]) if i not in (1, 2, 3)]
            rows.append((numeric, cols[1:4], cols[41] != "normal"))
    return rows


def unsw_nb15(path):
    rows = []
    with gzip.open(path, "rt", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader)
        at = {h: i for i, h in enumerate(header)}
        cat = [at["proto"], at["service"], at["state"]]
        skip = {at["id"], at["label"], at["attack_cat"]} | set(cat)
        for cols in reader:
            numeric = [float(v) for i, v in enumerate(cols) if i not in skip]
            rows.append((numeric, [cols[i] for i in cat], cols[at["label"]] == "1"))
    return rows


def scaler(learn):
    dims = len(learn[0][0])
    max_log = [0.0] * dims
    counts = [Counter() for _ in learn[0][1]]
    for numeric, categorical, _ in learn:
        for i, v in enumerate(numeric):
            max_log[i] = max(max_log[i], math.log1p(max(v, 0.0)))
        for c, v in zip(counts, categorical):
            c[v] += 1
    ranks = []
    for c in counts:
        ordered = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
        ranks.append({k: i for i, (k, _) in enumerate(ordered)})

    def scale(row):
        numeric, categorical, _ = row
        x = [min(math.log1p(max(v, 0.0)) / m, 1.0) if m > 0 else 0.0 for v, m in zip(numeric, max_log)]
        x += [r[v] / len(r) if v in r else 1.0 for r, v in zip(ranks, categorical)]
        return x

    return scale


def evaluate(name, learn, test):
    scale = scaler(learn)
    xl = np.array([scale(r) for r in learn])
    xt = np.array([scale(r) for r in test])
    y = np.array([r[2] for r in test])
    started = time.perf_counter()
    model = IsolationForest(n_estimators=100, random_state=0).fit(xl)
    own = -model.score_samples(xl)
    scores = -model.score_samples(xt)
    seconds = time.perf_counter() - started
    threshold = np.sort(own)[int(len(own) * 0.99)]
    flagged = scores > threshold
    tp = int(np.sum(flagged & y))
    fp = int(np.sum(flagged & ~y))
    print(
        f"{name}: IsolationForest learnt on {len(learn)} normal records, scored {len(test)} "
        f"({int(y.sum())} attacks): ROC AUC {roc_auc_score(y, scores):.3f}; at the 1 % budget: "
        f"precision {tp / max(tp + fp, 1):.3f}, recall {tp / max(int(y.sum()), 1):.3f}, "
        f"false-positive rate {fp / max(int((~y).sum()), 1):.3f} ({seconds:.1f} s to fit and score)"
    )


def main():
    base = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "../../shared/datasets/network"
    if not base.is_dir():
        print(f"skipping: {base} is absent")
        return
    train = nsl_kdd(base / "nsl-kdd-KDDTrain+_20Percent.txt.gz")
    test = nsl_kdd(base / "nsl-kdd-KDDTest+.txt.gz")
    evaluate("NSL-KDD (KDDTest+)", [r for r in train if not r[2]], test)
    unsw = unsw_nb15(base / "unsw-nb15-training-set.csv.gz")
    evaluate(
        "UNSW-NB15 (odd rows of the training set)",
        [r for r in unsw[0::2] if not r[2]],
        unsw[1::2],
    )


if __name__ == "__main__":
    main()
