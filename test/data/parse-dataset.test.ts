import { createHash } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { parseDataset, type LabeledPair, type UnlabeledPair } from '../../src/data/index.ts';
import { DatasetError, RequestError } from '../../src/errors.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('parseDataset', () => {
  it('reads bytes without touching the disk and hashes them', () => {
    const data = bytes('sentence1\tsentence2\tlabel\na\tb\t1\n');
    const r = parseDataset(data, 'datasets/upload.tsv');
    expect(r.file).toBe('datasets/upload.tsv');
    expect(r.pairs).toEqual([{ sentence1: 'a', sentence2: 'b', label: 1, line: 2 }]);
    expect(r.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expectTypeOf(r.pairs).toEqualTypeOf<LabeledPair[]>();
  });

  it('types the result as unlabelled for requireLabels: false', () => {
    const r = parseDataset(bytes('sentence1,sentence2\na,b\n'), 'k.csv', { requireLabels: false });
    expectTypeOf(r.pairs).toEqualTypeOf<UnlabeledPair[]>();
    expect(r.pairs[0]).not.toHaveProperty('label');
  });

  it('takes a format override over the key', () => {
    const r = parseDataset(bytes('sentence1,sentence2,label\na,b,1\n'), 'datasets/no-extension', { format: 'csv' });
    expect(r.format).toBe('csv');
    expect(() => parseDataset(bytes('sentence1\tsentence2\tlabel\na\tb\t1\n'), 'x.tsv', { format: 'mrpc-tsv' })).toThrow(/not MRPC's/);
  });

  it('rejects invalid options with a RequestError listing each', () => {
    const run = (options: unknown) => () => parseDataset(bytes('sentence1\tsentence2\tlabel\na\tb\t1\n'), 'x.tsv', options as never);
    expect(run({ sentence1Col: -1 })).toThrow(RequestError);
    expect(run({ positive_label: 'yes' })).toThrow(/positive_label/);
    expect(run({ format: 'xlsx' })).toThrow(/format/);
    expect(run({ positiveLabel: ' ' })).toThrow(RequestError);
  });

  it('accepts the options the CLI passes (undefined for absent flags)', () => {
    const r = parseDataset(bytes('sentence1\tsentence2\tlabel\na\tb\t1\n'), 'x.tsv', {
      sentence1Col: undefined,
      sentence2Col: undefined,
      labelCol: undefined,
      noHeader: false,
      positiveLabel: undefined,
      skipInvalid: false,
      format: undefined,
    });
    expect(r.counts.rows).toBe(1);
  });

  it('carries every issue on the DatasetError, beyond the 20 in the message', () => {
    const rows = Array.from({ length: 25 }, () => 'a\t\t1');
    try {
      parseDataset(bytes(['sentence1\tsentence2\tlabel', ...rows].join('\n')), 'x.tsv');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DatasetError);
      expect((err as DatasetError).issues).toHaveLength(25);
      expect((err as DatasetError).issues[24]).toEqual({ file: 'x.tsv', line: 26, field: 'sentence2', reason: expect.stringMatching(/sentence2 is empty/) });
    }
  });

  it('names the POST /train body fields, not CLI flags, in its messages (a run started by POST /train has no flags; issue 19)', () => {
    const bytes = new TextEncoder().encode('question1,qestion2,is_duplicate\nA cat.,A dog.,1\n');
    expect(() => parseDataset(bytes, 'datasets/typo.csv')).toThrow(/pass options\.dataset\.sentence2Col "qestion2"/);
    expect(() => parseDataset(bytes, 'datasets/typo.csv')).not.toThrow(/--sentence2-col/);
    const err = (() => {
      try {
        parseDataset(bytes, 'datasets/typo.csv');
      } catch (e) {
        return e as DatasetError;
      }
    })()!;
    expect(err.issues[0].reason).toMatch(/options\.dataset\.sentence2Col/);
  });
});
