"""Reads a simpair embeddings store (manifest.json + safetensors shards) into numpy, shared by
keras_train.py and pooled_probe.py."""
import json
import os

import numpy as np


def read_store(directory: str, names: tuple[str, ...]):
    """Returns ({name: array concatenated over the shards}, manifest) for the tensors `names`.

    Raises SystemExit naming the store and the tensor when a shard lacks one (e.g. `pooled` in a
    store embedded without pooled vectors)."""
    from safetensors.numpy import load_file

    with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    parts: dict[str, list] = {name: [] for name in names}
    for shard in manifest["shards"]:
        tensors = load_file(os.path.join(directory, shard["key"]))
        for name in names:
            if name not in tensors:
                raise SystemExit(f"{directory}/{shard['key']} has no tensor '{name}'; re-create the store with it (pooled vectors: ensureStores(..., {{ pooled: true }})).")
            parts[name].append(tensors[name])
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}, manifest
