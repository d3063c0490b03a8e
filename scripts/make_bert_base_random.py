#!/usr/bin/env python3
"""Builds a BertModel with bert-base-uncased's exact shape (12 layers, hidden 768, 12 heads,
intermediate 3072, vocab 30522, 512 positions) and RANDOM weights (fixed seed), with the real
bert-base-uncased vocab/tokenizer, exported like the other models: onnx/model.onnx (float32,
~440 MB) and onnx/model_quantized.onnx (dynamic int8). For speed work only: its embeddings
mean nothing.

Writes to OUT_DIR (default models/bert-base-random): config.json, vocab.txt, tokenizer.json,
tokenizer_config.json, special_tokens_map.json, onnx/model.onnx, onnx/model_quantized.onnx,
export-info.json.

Usage: PYTHON=${PYTHON:-.venv/bin/python}; $PYTHON scripts/make_bert_base_random.py [OUT_DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bert_common as bc  # noqa: E402

SEED = 20240612


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?", type=Path, default=bc.ROOT / "models" / "bert-base-random")
    args = ap.parse_args()
    out: Path = args.out_dir.resolve()
    t0 = time.perf_counter()

    import torch
    from transformers import BertConfig, BertModel

    bc.quiet_transformers()
    vocab = bc.bert_vocab_path()
    torch.manual_seed(SEED)
    config = BertConfig(  # bert-base-uncased's config.json, architecture fields
        vocab_size=30522,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=512,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        architectures=["BertModel"],
    )
    config._attn_implementation = "eager"
    model = BertModel(config, add_pooling_layer=False).eval()
    out.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(out)
    bc.write_tokenizer_files(vocab, out)
    report = bc.export_with_quantized(model, out, out / "vocab.txt", max_lens=(16, 64))
    (out / "export-info.json").write_text(
        json.dumps({"source": "random weights, bert-base-uncased shape", "seed": SEED, "torch": torch.__version__, **report}, indent=2) + "\n"
    )
    print(f"Wrote {out} in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
