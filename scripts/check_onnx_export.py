"""Checks simpair's ONNX exports from Python, outside simpair.

1. Runs ONNX's checker (full_check: also type and shape inference) on each given .onnx file.
2. With --pipeline, tokenizes sentence pairs with the HF `tokenizers` library from the
   tokenizer.json beside pipeline.onnx (truncation longest_first and padding to maxLen, as
   simpair does), runs pipeline.onnx in onnxruntime and prints the probabilities as JSON.
   A pooled-head pipeline (inputs sentence1_* and sentence2_*) also gets each sentence
   tokenized alone ([CLS] s [SEP], truncated to simpair.sentenceMaxTokens, padded to the
   batch's longest), as simpair pools them.

Usage:
  .venv/bin/python scripts/check_onnx_export.py --check M/classifier.onnx M/pipeline.onnx \
      --pipeline M/pipeline.onnx --pairs pairs.json
pairs.json: [{"sentence1": "...", "sentence2": "..."}, ...]
Prints: {"checked": [...], "probabilities": [...]}
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime
from tokenizers import Tokenizer


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    ops = sorted({n.op_type for n in model.graph.node})
    inputs = [i.name for i in model.graph.input]
    return {"file": path, "ir_version": model.ir_version, "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import}, "ops": ops, "inputs": inputs}


def predict(pipeline_path, pairs):
    here = os.path.dirname(os.path.abspath(pipeline_path))
    session = onnxruntime.InferenceSession(pipeline_path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    max_len = int(meta["simpair.maxLen"])
    tokenizer = Tokenizer.from_file(os.path.join(here, "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_len, strategy="longest_first")
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(length=max_len, pad_id=pad_id, pad_token="[PAD]")
    encodings = tokenizer.encode_batch([(p["sentence1"], p["sentence2"]) for p in pairs])
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    if "sentence1_input_ids" in {i.name for i in session.get_inputs()}:
        alone = Tokenizer.from_file(os.path.join(here, "tokenizer.json"))
        alone.enable_truncation(max_length=int(meta["simpair.sentenceMaxTokens"]))
        alone.enable_padding(pad_id=pad_id, pad_token="[PAD]")  # to the batch's longest
        for key in ("sentence1", "sentence2"):
            sentences = alone.encode_batch([p[key] for p in pairs])
            feeds[f"{key}_input_ids"] = np.array([e.ids for e in sentences], dtype=np.int64)
            feeds[f"{key}_attention_mask"] = np.array([e.attention_mask for e in sentences], dtype=np.int64)
    (probability,) = session.run(["probability"], feeds)
    return [float(p) for p in probability[:, 0]], float(meta["simpair.threshold"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", nargs="*", default=[], help=".onnx files to run ONNX's checker on")
    parser.add_argument("--pipeline", help="pipeline.onnx to run on --pairs")
    parser.add_argument("--pairs", help="JSON file: a list of {sentence1, sentence2}")
    args = parser.parse_args()
    result = {"checked": [check(p) for p in args.check]}
    if args.pipeline:
        with open(args.pairs, encoding="utf-8") as f:
            pairs = json.load(f)
        result["probabilities"], result["threshold"] = predict(args.pipeline, pairs)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
