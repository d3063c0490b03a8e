import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDataset, writeSkippedReport } from '../../src/data/index.ts';
import { useTempDir } from './temp-files.ts';

const tmp = useTempDir();

describe('writeSkippedReport', () => {
  it('writes one JSON object per skipped row, creating the directory', async () => {
    const file = await tmp.write('mixed.tsv', 'sentence1\tsentence2\tlabel\na\tb\t1\nonly one\nc\t\t0\n');
    const r = await readDataset(file, { skipInvalid: true });
    const report = join(tmp.dir(), 'reports', 'deep', 'mixed.skipped.jsonl');
    await writeSkippedReport(report, r.skipped);
    const lines = (await readFile(report, 'utf8')).split('\n');
    expect(lines.at(-1)).toBe('');
    const rows = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(rows).toEqual([
      { file, line: 3, reason: expect.stringMatching(/expected 3 tab-separated fields, got 1/) },
      { file, line: 4, field: 'sentence2', reason: expect.stringMatching(/sentence2 is empty/) },
    ]);
    expect(rows).toHaveLength(r.counts.skipped);
  });

  it('writes an empty file for no issues', async () => {
    const report = join(tmp.dir(), 'none.jsonl');
    await writeSkippedReport(report, []);
    expect(await readFile(report, 'utf8')).toBe('');
  });
});
