/**
 * Compares simpair's PairTokenizer with Python's BertTokenizer on every MRPC pair.
 *   .venv/bin/python scripts/tokenizer_parity_python.py .scratch/mrpc-128.jsonl --max-len 128
 *   node bin/run-ts.js scripts/tokenizer-parity.ts .scratch/mrpc-128.jsonl [model-dir]
 * Prints the mismatch count (and the first mismatches) as JSON.
 */
import { readFileSync } from 'node:fs';
import { PairTokenizer } from '../src/tokenizer/pair-tokenizer.ts';

const [file, modelDir = 'test/fixtures/tiny-bert'] = process.argv.slice(2);
if (!file) {
  console.error('usage: tokenizer-parity.ts PYTHON_OUTPUT.jsonl [MODEL_DIR]');
  process.exit(2);
}
const tok = await PairTokenizer.fromDir(modelDir);
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
let mismatches = 0;
const examples: unknown[] = [];
for (const line of lines) {
  const row = JSON.parse(line);
  const maxLen = row.input_ids.length;
  const b = tok.encodePairs([[row.sentence1, row.sentence2]], { maxLen });
  const same =
    JSON.stringify(Array.from(b.inputIds, Number)) === JSON.stringify(row.input_ids) &&
    JSON.stringify(Array.from(b.tokenTypeIds, Number)) === JSON.stringify(row.token_type_ids) &&
    JSON.stringify(Array.from(b.attentionMask, Number)) === JSON.stringify(row.attention_mask);
  if (!same) {
    mismatches++;
    if (examples.length < 5) examples.push({ file: row.file, line: row.line });
  }
}
console.log(JSON.stringify({ pairs: lines.length, mismatches, examples }));
