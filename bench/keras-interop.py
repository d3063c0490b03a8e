"""Keras interop check: a simpair model directory -> tensorflowjs converter -> Keras (H5),
then predictions on the same embeddings as simpair, compared value by value.

  .venv-ref/bin/python bench/keras-interop.py --model-dir DIR --shard SHARD.safetensors \
      --expected simpair-probs.json [--n 100] [--out-h5 FILE]

--shard is one of simpair's embedding shards (safetensors: `embeddings` F32
[count, maxLen, hidden], `labels` U8, and `pooled` F32 [count, 2, hidden] for the pooled head,
whose second input gets [u, v, |u-v|, u*v]); --expected holds simpair's probabilities for its first
rows ({"probabilities": [...]}). Prints one JSON line: n, max and mean absolute difference.

The conversion is the converter's own command line (`tensorflowjs_converter --input_format
tfjs_layers_model --output_format keras model.json out.h5`), called in-process. tensorflowjs
4.22 imports tensorflow_decision_forests, tensorflow_hub and jax at import time, for the
SavedModel and JAX converters only; they are not installed (tensorflowjs is installed with
--no-deps, see scripts/bench-python-setup.sh), so empty stand-ins are registered for the
ones that are missing. The layers-model -> Keras path uses none of them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import types

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def log(message: str) -> None:
    print(f"[interop] {message}", file=sys.stderr, flush=True)


def import_converter():
    stubbed = []
    missing_roots = {n for n in ("tensorflow_decision_forests", "tensorflow_hub", "jax") if importlib.util.find_spec(n) is None}
    for name in ("tensorflow_decision_forests", "tensorflow_hub", "jax", "jax.experimental", "jax.experimental.jax2tf"):
        if name.split(".")[0] not in missing_roots:
            continue
        module = types.ModuleType(name)
        module.__path__ = []  # a package, so "from jax.experimental import jax2tf" resolves
        sys.modules[name] = module
        stubbed.append(name)
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)
    from tensorflowjs.converters import converter
    import tensorflowjs

    return converter, tensorflowjs.__version__, stubbed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--shard", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--out-h5")
    args = ap.parse_args()

    from safetensors.numpy import load_file
    import tf_keras as keras

    converter, tfjs_version, stubbed = import_converter()
    if stubbed:
        log(f"stand-ins for modules the layers-model path does not use: {', '.join(stubbed)}")
    h5 = args.out_h5 or os.path.join(tempfile.mkdtemp(prefix="simpair-interop-"), "model.h5")
    converter.convert(["--input_format", "tfjs_layers_model", "--output_format", "keras", os.path.join(args.model_dir, "model.json"), h5])
    log(f"converted {args.model_dir}/model.json -> {h5} ({os.path.getsize(h5)} bytes) with tensorflowjs {tfjs_version}")
    model = keras.models.load_model(h5)

    tensors = load_file(args.shard)
    x = tensors["embeddings"][: args.n].astype(np.float32)
    with open(args.expected, encoding="utf-8") as f:
        expected = np.array(json.load(f)["probabilities"][: args.n], dtype=np.float64)
    if len(expected) != len(x):
        sys.exit(f"keras-interop.py: {len(x)} embeddings but {len(expected)} expected probabilities")
    inputs = x
    if "pooled" in tensors:
        # The pooled head (simpair run --head pooled): a second input, SBERT's [u, v, |u-v|, u*v].
        u, v = tensors["pooled"][: args.n, 0].astype(np.float32), tensors["pooled"][: args.n, 1].astype(np.float32)
        inputs = [x, np.concatenate([u, v, np.abs(u - v), u * v], axis=1)]
    got = model.predict(inputs, batch_size=64, verbose=0).reshape(-1).astype(np.float64)
    diff = np.abs(got - expected)
    same_decision = int(np.sum((got > 0.5) == (expected > 0.5)))
    print(
        json.dumps(
            {
                "tensorflowjs": tfjs_version,
                "stubbedModules": stubbed,
                "n": int(len(x)),
                "inputShape": list(x.shape),
                "inputs": len(model.inputs),
                "maxAbsDiff": float(diff.max()),
                "meanAbsDiff": float(diff.mean()),
                "sameDecision": same_decision,
                "h5Bytes": os.path.getsize(h5),
            }
        )
    )


if __name__ == "__main__":
    main()
