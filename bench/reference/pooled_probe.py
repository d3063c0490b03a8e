"""How far frozen sentence vectors go on their own: logistic regression on SBERT's
classification features [u, v, |u - v|, u * v] of the two sentences' mean-pooled embeddings
(the very vectors simpair stores for the pooled head), trained on the train store, measured on
the test store. No Bi-LSTM, no token embeddings: a cheap estimate of what a head on this frozen
encoder can reach. Deterministic (lbfgs, no sampling). Prints one JSON line.

  python bench/reference/pooled_probe.py --train DIR --test DIR

Each probe standardises the features (fit on train) and picks the inverse regularisation C by
5-fold cross-validation on the train rows only (accuracy), then refits on all train rows.
Probes: the raw pooled vectors, and the same after L2-normalising u and v (so |u - v| and
u * v carry the cosine's geometry).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from store_io import read_store  # noqa: E402


def log(message: str) -> None:
    print(f"[ref] {message}", file=sys.stderr, flush=True)


def read_pooled(directory: str):
    arrays, _ = read_store(directory, ("pooled", "labels"))
    return arrays["pooled"].astype(np.float64), arrays["labels"].astype(np.int32)


def pair_features(pooled: np.ndarray, normalise: bool) -> np.ndarray:
    u, v = pooled[:, 0, :], pooled[:, 1, :]
    if normalise:
        u = u / np.linalg.norm(u, axis=1, keepdims=True)
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
    return np.concatenate([u, v, np.abs(u - v), u * v], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    args = ap.parse_args()

    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    import sklearn

    train_pooled, y_train = read_pooled(args.train)
    test_pooled, y_test = read_pooled(args.test)
    probes = []
    for name, normalise in (("[u, v, |u-v|, u*v]", False), ("[u, v, |u-v|, u*v], u and v L2-normalised", True)):
        t0 = time.perf_counter()
        model = make_pipeline(
            StandardScaler(),
            LogisticRegressionCV(Cs=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0], cv=5, scoring="accuracy", max_iter=2000),
        )
        model.fit(pair_features(train_pooled, normalise), y_train)
        probs = model.predict_proba(pair_features(test_pooled, normalise))[:, 1]
        predicted = (probs > 0.5).astype(np.int32)
        c = float(model[-1].C_[0])
        probes.append({
            "name": name,
            "C": c,
            "trainAccuracy": float(accuracy_score(y_train, model.predict(pair_features(train_pooled, normalise)))),
            "accuracy": float(accuracy_score(y_test, predicted)),
            "f1": float(f1_score(y_test, predicted, zero_division=0)),
            "rocAuc": float(roc_auc_score(y_test, probs)),
            "seconds": time.perf_counter() - t0,
        })
        log(f"probe {name}: C {c:g}, test accuracy {probes[-1]['accuracy']:.4f}, ROC-AUC {probes[-1]['rocAuc']:.4f}")
    print(json.dumps({"sklearn": sklearn.__version__, "trainRows": int(len(y_train)), "testRows": int(len(y_test)), "probes": probes}))


if __name__ == "__main__":
    main()
