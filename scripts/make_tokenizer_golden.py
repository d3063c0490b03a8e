#!/usr/bin/env python3
"""Writes test/fixtures/tokenizer-golden.json: what Python's SLOW transformers.BertTokenizer
(bert-base-uncased's vocab.txt, do_lower_case=True) produces for hand-written sentence pairs
with padding='max_length', truncation=True (longest_first), at max_length 128 and 32.

The pairs are edge cases for a re-implementation: accents, CJK, punctuation runs, words over
100 characters, control and zero-width characters, emoji (ZWJ sequences), text that is empty
after cleaning, numbers, URLs, mixed case, pairs needing truncation, empty strings, literal
special tokens. None come from MRPC.

It also compares the fast tokenizer (BertTokenizerFast from test/fixtures/tiny-bert/tokenizer.json
when present, else one built on the vocab) and prints the cases where it differs from the slow
one. The golden always records the slow tokenizer's output.

Usage: PYTHON=${PYTHON:-.venv/bin/python}; $PYTHON scripts/make_tokenizer_golden.py [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import unicodedata
from pathlib import Path

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bert_common as bc  # noqa: E402

MAX_LENS = (128, 32)

LONG_A = (
    "The committee, which had met every Tuesday since the spring of 1998, finally agreed that the old "
    "railway bridge over the river should be restored rather than demolished, although several members "
    "argued that the cost, estimated at more than twelve million dollars, could not be justified while "
    "the town's schools, hospitals and roads were still waiting for long-promised repairs and the "
    "regional government had repeatedly refused to contribute anything beyond a symbolic grant."
)
LONG_B = (
    "Scientists studying the migration of Arctic terns reported on Thursday that the birds, which weigh "
    "barely more than a hundred grams, travel roughly seventy thousand kilometres each year between "
    "their breeding grounds in Greenland and the edge of the Antarctic ice, following winding routes "
    "that take advantage of prevailing winds, stopping to feed in the rich waters off West Africa, and "
    "returning north months later with remarkable precision to the very same colonies."
)
WORD_100 = "a" * 100  # exactly max_input_chars_per_word: still WordPiece-split
WORD_101 = "b" * 101  # one over: the whole word becomes [UNK]

# (sentence1, sentence2). Order and content are part of the fixture: append, do not reorder.
PAIRS: list[tuple[str, str]] = [
    # plain
    ("A man is eating food.", "Someone is eating a meal."),
    ("The cat sat on the mat.", "The cat sat on the mat."),
    # accents (precomposed and decomposed), strip_accents follows lower case
    ("Let's meet at the café.", "She was naïve about the façade."),
    ("One Ångström is 0.1 nanometres.", "The unit symbol Å (U+212B) differs from Å (U+00C5)."),
    ("Cafe\u0301 with a combining acute accent.", "café with a precomposed one"),
    ("Crème brûlée, jalapeño, São Paulo, Zürich, Øresund.", "Straße, Æsir, Łódź, Dvořák, İstanbul."),
    ("Greek: ΟΔΥΣΣΕΥΣ and Σίσυφος", "Cyrillic: Москва, ЁЛКА"),
    # CJK and other scripts
    ("我爱北京天安门。", "東京タワーは高い。"),
    ("日本語のテキストとカタカナ", "한국어 문장입니다"),
    ("Mixed 中文 and English text", "ＡＢＣ fullwidth ＡＢＣ１２３"),
    ("Arabic: مرحبا بالعالم", "Hindi: नमस्ते दुनिया and Thai: สวัสดีครับ"),
    # punctuation runs
    ("What!!!???...", "Well -- I don't know --- maybe..."),
    ("\"Quoted,\" she said; (parenthetical) [bracketed] {braced}.", "a/b\\c|d~e^f`g@h#i$j%k&l*m+n=o<p>q"),
    ("“Curly quotes” and ‘single’ ones — with an em dash… and an ellipsis", "¿Qué? ¡Sí! «Bonjour» „Hallo“"),
    ("...", "!!!"),
    # long words (max_input_chars_per_word = 100)
    (WORD_100, WORD_101),
    ("Here is a long word: " + "supercalifragilistic" * 6 + " right there.", "short"),
    ("pneumonoultramicroscopicsilicovolcanoconiosis", "antidisestablishmentarianism"),
    # control characters
    ("null\u0000byte and bell\u0007char", "tab\tseparated\tvalues"),
    ("Windows\r\nline endings\r\n", "vertical\u000btab and form\u000cfeed"),
    ("escape \u001b[31mred\u001b[0m text", "delete\u007fchar and C1\u0085next line"),
    ("replacement \ufffd char", "private use \ue000 char"),
    # zero-width and invisible characters
    ("zero\u200bwidth\u200bspace", "zero\u200dwidth\u200djoiner and \u200cnon-joiner"),
    ("\ufeffbyte order mark at start", "soft\u00adhyphen and word\u2060joiner"),
    ("non\u00a0breaking space and ideographic\u3000space", "line\u2028separator and paragraph\u2029separator"),
    # emoji
    ("I love pizza 🍕🍕🍕", "Smiley 😀 and heart ❤️"),
    ("Family 👨‍👩‍👧‍👦 emoji", "Flag 🇫🇷 and skin tone 👍🏽"),
    ("Rainbow flag 🏳️‍🌈 and technologist 👩🏻‍💻", "keycap 1️⃣ and ©®™"),
    ("newer emoji 🫠 🫨 🪿", "math 𝐀𝐁𝐂 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"),
    # empty after cleaning / empty strings
    ("\u200b\u200b", "\u0000"),
    ("", ""),
    ("", "Only the second sentence has text."),
    ("Only the first sentence has text.", ""),
    ("   ", "\t\n\r\n "),
    ("\ufeff\u200d\u2060", "normal text after an invisible first sentence"),
    # numbers
    ("The price rose 3.5% to $1,234.56 on 2023-11-26.", "Call +1 (555) 010-9999 or 0800 123 456."),
    ("Pi is 3.14159265358979 and e is 2.71828.", "1st 2nd 3rd 4th 100th 1,000,000 1e-10 0x1F"),
    ("The 1990s, the '80s and the year 2000", "½ ¼ ⅔ ² ³ ° ± × ÷ € £ ¥ ₹"),
    # URLs, e-mail, code
    ("Visit https://www.example.com/path/to/page?query=1&lang=en#section-2", "mail me at john.doe+test@example.co.uk"),
    ("C:\\Users\\name\\file.txt and /usr/local/bin", "snake_case camelCase PascalCase kebab-case"),
    ("#hashtag @mention <b>bold</b> &amp;", "x = f(y) + g[z] * 2 ** 3;"),
    # mixed case
    ("iPhone McDonald's NASA eBay YouTube", "IPHONE MCDONALD'S nasa EBAY youtube"),
    ("THE QUICK BROWN FOX", "the quick brown fox"),
    # literal special tokens in the text
    ("[CLS] [SEP] [PAD] [MASK] [UNK]", "[cls] [sep] [mask] [unused0] [unused1]"),
    ("Fill the [MASK] please.", "not a token: [MASK"),
    # apostrophes / contractions
    ("Don't won't can't it's I'm y'all", "Don’t won’t can’t it’s"),
    # truncation: both long, one long, unequal, exact fit
    (LONG_A, LONG_B),
    (LONG_A, "Short second sentence."),
    ("Short first sentence.", LONG_B),
    (LONG_A + " " + LONG_B, LONG_B),
    (LONG_A + " " + LONG_B + " " + LONG_A, ""),
    ("", LONG_B + " " + LONG_A + " " + LONG_B),
    ("one two three four five six seven eight nine ten eleven twelve thirteen", "fourteen fifteen sixteen seventeen eighteen nineteen twenty"),
    ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen", "fifteen sixteen seventeen eighteen nineteen twenty"),
    ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen", "sixteen"),
    ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi", "rho sigma tau upsilon phi chi psi omega"),
    (" ".join(["word"] * 200), " ".join(["other"] * 201)),
    (" ".join(["word"] * 201), " ".join(["other"] * 200)),
    (" ".join(["unbelievably"] * 60), "fine"),
    # whitespace handling
    ("  leading and trailing spaces  ", "multiple     internal      spaces"),
    ("tabs\tand\nnewlines\n\nmixed", "a\u2003em space\u2009thin space\u202fnarrow nbsp"),
    # repeated characters and single characters
    ("a", "I"),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "zzzzzzzzzzzzzzzzzzzz"),
    ("hello!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "............................................"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=bc.ROOT / "test" / "fixtures" / "tokenizer-golden.json")
    args = ap.parse_args()
    t0 = time.perf_counter()

    import transformers
    from transformers import BertTokenizerFast

    vocab = bc.bert_vocab_path()
    slow = bc.slow_tokenizer(vocab)
    assert type(slow).__name__ == "BertTokenizer" and not slow.is_fast

    cases = []
    for max_len in MAX_LENS:
        for a, b in PAIRS:
            enc = slow(a, b, padding="max_length", truncation=True, max_length=max_len)
            assert len(enc["input_ids"]) == max_len, (a, b, max_len, len(enc["input_ids"]))
            cases.append(
                {
                    "sentence1": a,
                    "sentence2": b,
                    "maxLen": max_len,
                    "input_ids": enc["input_ids"],
                    "token_type_ids": enc["token_type_ids"],
                    "attention_mask": enc["attention_mask"],
                }
            )
    golden = {
        "tokenizer": "BertTokenizer (slow)",
        "transformers": transformers.__version__,
        "vocabSha256": bc.sha256_file(vocab),
        # The slow tokenizer drops every character whose category starts with "C" (Cc, Cf, Co, Cs, Cn)
        # by Python's unicodedata: characters unassigned in that Unicode version (e.g. Unicode 15 emoji
        # under Python 3.11's Unicode 14) are dropped instead of becoming [UNK].
        "python": platform.python_version(),
        "unicodedata": unicodedata.unidata_version,
        "settings": "do_lower_case=True, padding='max_length', truncation=True (longest_first)",
        "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # ASCII-escaped: control and zero-width characters stay visible in the file.
    args.out.write_text(json.dumps(golden, ensure_ascii=True, indent=None) + "\n", encoding="utf-8")
    print(f"Wrote {len(cases)} cases ({len(PAIRS)} pairs x {list(MAX_LENS)}) to {args.out} "
          f"({args.out.stat().st_size:,} bytes) in {time.perf_counter() - t0:.1f}s")

    # Fast tokenizer comparison (report only; the golden is the slow tokenizer's).
    tj = bc.ROOT / "test" / "fixtures" / "tiny-bert" / "tokenizer.json"
    if tj.exists():
        fast, src = BertTokenizerFast(tokenizer_file=str(tj)), str(tj.relative_to(bc.ROOT))
    else:
        fast, src = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True), "BertTokenizerFast(vocab.txt)"
    mismatches = 0
    for c in cases:
        f = fast(c["sentence1"], c["sentence2"], padding="max_length", truncation=True, max_length=c["maxLen"])
        if any(f[k] != c[k] for k in ("input_ids", "token_type_ids", "attention_mask")):
            mismatches += 1
            print(f"  fast != slow at maxLen {c['maxLen']}: {c['sentence1']!r} / {c['sentence2']!r}")
            print(f"    slow: {slow.convert_ids_to_tokens([i for i, m in zip(c['input_ids'], c['attention_mask']) if m])}")
            print(f"    fast: {fast.convert_ids_to_tokens([i for i, m in zip(f['input_ids'], f['attention_mask']) if m])}")
    print(f"Fast tokenizer ({src}) vs slow: {mismatches} of {len(cases)} cases differ")


if __name__ == "__main__":
    main()
