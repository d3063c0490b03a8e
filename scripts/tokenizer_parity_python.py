#!/usr/bin/env python3
"""Tokenizes the MRPC sentence pairs with Python's slow BertTokenizer (bert-base-uncased vocab,
do_lower_case=True, padding='max_length', truncation=True (longest_first)) and writes one JSON
line per pair: file, line (1-based line number in that file; line 1 is the header), label,
input_ids, token_type_ids, attention_mask. simpair's TypeScript tokenizer is compared with it.

MRPC files (msr_paraphrase_train.txt / msr_paraphrase_test.txt) are read as they are: UTF-8 with
BOM, CRLF line ends, tab-separated columns Quality, #1 ID, #2 ID, #1 String, #2 String; no CSV
quoting (a '"' is part of the text).

Usage: PYTHON=${PYTHON:-.venv/bin/python}
       $PYTHON scripts/tokenizer_parity_python.py OUT.jsonl [--max-len 128] [--compare-fast]
              [--mrpc FILE ...]   (default: ../shared/datasets/mrpc/msr_paraphrase_{train,test}.txt
                                   relative to the repository root)
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

# MRPC lives in ../shared beside the repository root (never copied in: non-commercial licence).
MRPC_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "mrpc"
DEFAULT_MRPC = [MRPC_DIR / "msr_paraphrase_train.txt", MRPC_DIR / "msr_paraphrase_test.txt"]
HEADER = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]


def read_mrpc(path: Path):
    """Yields (line_number, label, sentence1, sentence2). Tab split only, no quoting rules."""
    text = path.read_bytes().decode("utf-8-sig")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, raw in enumerate(lines, start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        cols = line.split("\t")
        if n == 1:
            if cols != HEADER:
                raise SystemExit(f"{path}:1: unexpected header {cols!r}; expected {HEADER!r}")
            continue
        if len(cols) != 5:
            raise SystemExit(f"{path}:{n}: {len(cols)} tab-separated columns, expected 5")
        if cols[0] not in ("0", "1"):
            raise SystemExit(f"{path}:{n}: Quality {cols[0]!r} is not 0 or 1")
        yield n, int(cols[0]), cols[3], cols[4]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="JSONL file to write")
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--mrpc", type=Path, nargs="+", default=DEFAULT_MRPC, help="MRPC files to read")
    ap.add_argument("--compare-fast", action="store_true", help="also count pairs where BertTokenizerFast differs")
    args = ap.parse_args()

    missing = [str(p) for p in args.mrpc if not p.is_file()]
    if missing:
        raise SystemExit(
            "MRPC files not found: " + ", ".join(missing) + ". Pass them with --mrpc FILE ... "
            "(msr_paraphrase_train.txt / msr_paraphrase_test.txt from the Microsoft Research Paraphrase Corpus)."
        )
    if args.max_len < 3:
        raise SystemExit("--max-len must be at least 3")
    t0 = time.perf_counter()
    vocab = bc.bert_vocab_path()
    slow = bc.slow_tokenizer(vocab)
    fast = None
    if args.compare_fast:
        from transformers import BertTokenizerFast

        fast = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    count = truncated = fast_diff = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for path in args.mrpc:
            for line, label, a, b in read_mrpc(path):
                enc = slow(a, b, padding="max_length", truncation=True, max_length=args.max_len)
                full = len(slow.tokenize(a)) + len(slow.tokenize(b)) + 3
                truncated += full > args.max_len
                if fast is not None:
                    fe = fast(a, b, padding="max_length", truncation=True, max_length=args.max_len)
                    fast_diff += any(fe[k] != enc[k] for k in ("input_ids", "token_type_ids", "attention_mask"))
                rec = {
                    "file": path.name,
                    "line": line,
                    "label": label,
                    "sentence1": a,
                    "sentence2": b,
                    "input_ids": enc["input_ids"],
                    "token_type_ids": enc["token_type_ids"],
                    "attention_mask": enc["attention_mask"],
                }
                f.write(json.dumps(rec, separators=(",", ":")) + "\n")
                count += 1
    print(f"Wrote {count} pairs to {args.out} (maxLen {args.max_len}; {truncated} truncated) in {time.perf_counter() - t0:.1f}s")
    if fast is not None:
        print(f"BertTokenizerFast differs from the slow tokenizer on {fast_diff} of {count} pairs")


if __name__ == "__main__":
    main()
