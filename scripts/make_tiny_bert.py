#!/usr/bin/env python3
"""Builds the tiny random BERT test fixture in test/fixtures/tiny-bert/ (hub layout).

A BertModel with bert-base-uncased's vocabulary and tokenizer but tiny sizes (hidden 32,
2 layers, 2 heads, intermediate 37), random weights from a fixed seed, exported to ONNX
exactly as simpair's embedder expects (inputs input_ids / attention_mask / token_type_ids,
int64, dynamic batch and sequence; one output last_hidden_state [batch, seq, 32]).

Writes: config.json, vocab.txt, tokenizer.json, tokenizer_config.json,
special_tokens_map.json, onnx/model.onnx, onnx/model_quantized.onnx (int8), expected-embeddings.json (3 pairs tokenized by the
slow BertTokenizer at max_length 16, with PyTorch's last_hidden_state rounded to 6 decimals).

Usage: PYTHON=${PYTHON:-.venv/bin/python}; $PYTHON scripts/make_tiny_bert.py [--out DIR]
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

SEED = 20240611
MAX_LEN = 16
EXPECTED_PAIRS = [
    ("A man is eating food.", "Someone is eating a meal."),
    # longer than 16 tokens: longest_first truncation
    (
        "The quick brown fox jumps over the lazy dog while the farmer watches from the porch.",
        "A fox leaps over a dog.",
    ),
    ("Café naïve Ångström, 東京!", "HELLO world 🙂 3.14"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=bc.ROOT / "test" / "fixtures" / "tiny-bert")
    args = ap.parse_args()
    out: Path = args.out
    t_start = time.perf_counter()

    import numpy as np
    import torch
    import transformers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = bc.bert_vocab_path()
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=512,
        type_vocab_size=2,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        initializer_range=0.02,
        pad_token_id=0,
        architectures=["BertModel"],
    )
    config._attn_implementation = "eager"  # plain matmul attention: traces to a simple, portable graph
    model = BertModel(config, add_pooling_layer=False).eval()

    out.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(out)
    bc.write_tokenizer_files(vocab, out)
    onnx_path = out / "onnx" / "model.onnx"
    t_export = bc.export_onnx(model, onnx_path)

    # Parity on padded pairs, attention mask included.
    slow = bc.slow_tokenizer(vocab)
    fast = BertTokenizerFast(tokenizer_file=str(out / "tokenizer.json"))
    diffs = {}
    for max_len in (16, 48):
        enc = bc.encode_pairs(slow, bc.PARITY_PAIRS, max_len)
        assert enc["attention_mask"].min() == 0, "parity batch should contain padding"
        diffs[max_len], _, _ = bc.torch_vs_ort(model, onnx_path, enc)
    worst = max(diffs.values())
    print(f"ORT vs PyTorch last_hidden_state max abs diff: {', '.join(f'maxLen {k}: {v:.3g}' for k, v in diffs.items())}")
    assert worst < 1e-4, f"ONNX output differs from PyTorch by {worst}"

    # int8 export, as export_minilm.py makes one: simpair's --quantized check compares the two.
    t_quant = bc.quantize_int8(onnx_path, out / "onnx" / "model_quantized.onnx")
    print(f"int8 quantisation: {t_quant:.1f}s")

    # expected-embeddings.json: value parity target for the TS embedder.
    enc = bc.encode_pairs(slow, EXPECTED_PAIRS, MAX_LEN)
    fenc = bc.encode_pairs(fast, EXPECTED_PAIRS, MAX_LEN)
    for k in bc.INPUT_NAMES:
        assert (enc[k] == fenc[k]).all(), f"slow and fast tokenizers disagree on {k} for the expected-embeddings pairs"
    diff16, ref, _ = bc.torch_vs_ort(model, onnx_path, enc)
    pairs = []
    for i, (a, b) in enumerate(EXPECTED_PAIRS):
        pairs.append(
            {
                "sentence1": a,
                "sentence2": b,
                "input_ids": enc["input_ids"][i].tolist(),
                "token_type_ids": enc["token_type_ids"][i].tolist(),
                "attention_mask": enc["attention_mask"][i].tolist(),
                "last_hidden_state": [[round(float(x), 6) for x in row] for row in ref[i]],
            }
        )
    expected = {
        "description": "tiny-bert fixture: PyTorch last_hidden_state for 3 pairs (slow BertTokenizer, "
        "padding='max_length', truncation=True, max_length=16), values rounded to 6 decimals. "
        "Regenerate with scripts/make_tiny_bert.py.",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "seed": SEED,
        "maxLen": MAX_LEN,
        "hiddenSize": config.hidden_size,
        "onnxSha256": bc.sha256_file(onnx_path),
        "tokenizerJsonSha256": bc.sha256_file(out / "tokenizer.json"),
        "ortMaxAbsDiff": float(f"{diff16:.3g}"),
        "suggestedTolerance": 1e-4,
        "pairs": pairs,
    }
    (out / "expected-embeddings.json").write_text(json.dumps(expected, ensure_ascii=False) + "\n", encoding="utf-8")

    print(f"ONNX export: {t_export:.1f}s; onnx/model.onnx {bc.file_size_mb(onnx_path):.2f} MB, sha256 {expected['onnxSha256']}")
    for f in sorted(p for p in out.rglob("*") if p.is_file()):
        print(f"  {f.relative_to(out)}  {f.stat().st_size:,} bytes")
    print(f"Wrote {out} in {time.perf_counter() - t_start:.1f}s")


if __name__ == "__main__":
    main()
