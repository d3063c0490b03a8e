"""Trains the recipe's Keras Bi-LSTM on a simpair embeddings store (the very embeddings the
TF.js paths train on), so bench/'s training stage compares seconds per epoch, peak RSS and
accuracy on identical inputs. Prints one JSON line.

  python bench/reference/keras_train.py --train DIR --test DIR [--epochs 2] [--batch-size 32]
      [--seed 42] [--validation-split 0.1]
"""
import argparse
import json
import os
import resource
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recipe_keras import build_recipe_model, epoch_timer  # noqa: E402
from store_io import read_store as read_shards  # noqa: E402


def log(message: str) -> None:
    print(f"[ref] {message}", file=sys.stderr, flush=True)


def read_store(directory: str):
    arrays, manifest = read_shards(directory, ("embeddings", "labels"))
    return arrays["embeddings"].astype(np.float32), arrays["labels"].astype(np.float32), manifest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--validation-split", type=float, default=0.1)
    args = ap.parse_args()

    import tensorflow as tf
    import tf_keras as keras
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    x_train, y_train, manifest = read_store(args.train)
    x_test, y_test, _ = read_store(args.test)
    max_len, hidden = manifest["maxLen"], manifest["hidden"]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    model = build_recipe_model(keras, max_len, hidden, args.seed)
    timer = epoch_timer(keras)
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=args.validation_split, callbacks=[timer], verbose=0)
    probs = model.predict(x_test, batch_size=64, verbose=0).reshape(-1)
    y = y_test.astype(np.int32)
    positives = int(y.sum())
    print(json.dumps({
        "path": "keras",
        "tensorflow": tf.__version__,
        "threads": {"intra": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter": tf.config.threading.get_inter_op_parallelism_threads()},
        "epochSeconds": timer.seconds,
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "accuracy": float(accuracy_score(y, (probs > 0.5).astype(np.int32))),
        "f1": float(f1_score(y, (probs > 0.5).astype(np.int32), zero_division=0)),
        "rocAuc": float(roc_auc_score(y, probs)) if 0 < positives < len(y) else None,
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rssBeforeTrainingMiB": rss_before,
    }))


if __name__ == "__main__":
    main()
