import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readDataset } from '../../src/data/index.ts';

// The real MRPC lives next to the checkout, never in it (MSR-SSLA: research use only), so these
// tests assert counts and properties and quote no text.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const mrpcDir = resolve(repoRoot, '..', 'shared', 'datasets', 'mrpc');
const present = existsSync(join(mrpcDir, 'msr_paraphrase_train.txt'));
if (!present) console.warn(`skipping MRPC tests: ${mrpcDir} is absent`);

const oddQuotes = (s: string) => (s.split('"').length - 1) % 2 === 1;

/** The file's data lines split naively on tabs, the reference the reader must agree with. */
async function naiveRows(file: string): Promise<string[][]> {
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  return text.split(/\r?\n/).slice(1, -1).map((l) => l.split('\t'));
}

describe.skipIf(!present)('readDataset on the real MRPC', () => {
  it.each([
    ['msr_paraphrase_train.txt', 4076, 2753, 1323, 227],
    ['msr_paraphrase_test.txt', 1725, 1147, 578, 98],
    ['dev.tsv', 408, 279, 129, 20],
  ])('%s: %d rows (%d / %d), %d rows with an unpaired quote, every row intact', async (name, rows, positives, negatives, odd) => {
    const file = join(mrpcDir, name);
    const r = await readDataset(file);
    expect(r.format).toBe('mrpc-tsv');
    expect(r.counts).toEqual({ rows, positives, negatives, skipped: 0 });
    expect(r.columns).toEqual({ sentence1: '#1 String', sentence2: '#2 String', label: 'Quality' });
    expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);

    const reference = await naiveRows(file);
    expect(reference).toHaveLength(rows);
    const mismatched = r.pairs.filter((p, i) => p.line !== i + 2 || p.sentence1 !== reference[i][3] || p.sentence2 !== reference[i][4] || String(p.label) !== reference[i][0]);
    expect(mismatched).toEqual([]);

    const stray = r.pairs.filter((p) => oddQuotes(p.sentence1) || oddQuotes(p.sentence2));
    expect(stray).toHaveLength(odd);
    // A row with a stray quote keeps it and does not swallow its neighbours.
    const first = stray[0];
    expect(first.sentence1.includes('\t') || first.sentence2.includes('\t') || first.sentence1.includes('\n')).toBe(false);
    expect(r.pairs.find((p) => p.line === first.line + 1)?.line).toBe(first.line + 1);
  });

  it('dev.tsv rows are all train rows (GLUE dev overlaps train)', async () => {
    const [train, dev] = await Promise.all([readDataset(join(mrpcDir, 'msr_paraphrase_train.txt')), readDataset(join(mrpcDir, 'dev.tsv'))]);
    const key = (p: { sentence1: string; sentence2: string; label: number }) => `${p.label}\t${p.sentence1}\t${p.sentence2}`;
    const inTrain = new Set(train.pairs.map(key));
    expect(dev.pairs.every((p) => inTrain.has(key(p)))).toBe(true);
  });
});
