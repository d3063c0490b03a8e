import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readDataset } from '../../src/data/index.ts';
import { DatasetError } from '../../src/errors.ts';
import { bytesOf, useTempDir } from './temp-files.ts';

const tmp = useTempDir();

/** Runs `fn` and returns the DatasetError it throws. */
async function datasetError(fn: () => Promise<unknown>): Promise<DatasetError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  return err as DatasetError;
}

describe('readDataset: formats and aliases', () => {
  it('reads a TSV with sentence1/sentence2/label', async () => {
    const file = await tmp.write('basic.tsv', 'sentence1\tsentence2\tlabel\nA cat.\tA feline.\t1\nA cat.\tA car.\t0\n');
    const r = await readDataset(file);
    expect(r.format).toBe('tsv');
    expect(r.pairs).toEqual([
      { sentence1: 'A cat.', sentence2: 'A feline.', label: 1, line: 2 },
      { sentence1: 'A cat.', sentence2: 'A car.', label: 0, line: 3 },
    ]);
    expect(r.counts).toEqual({ rows: 2, positives: 1, negatives: 1, skipped: 0 });
    expect(r.columns).toEqual({ sentence1: 'sentence1', sentence2: 'sentence2', label: 'label' });
    expect(r.file).toBe(file);
  });

  it.each([
    ['question1,question2,is_duplicate', 'csv', 'qqp.csv'],
    ['text_a\ttext_b\tlabel', 'tsv', 'bert.tsv'],
    ['sentence_a\tsentence_b\tlabel', 'tsv', 'ab.tsv'],
    ['s1,s2,label', 'csv', 'short.csv'],
    ['text1\ttext2\tis_paraphrase', 'tsv', 'para.tsv'],
    ['  Sentence1 \t SENTENCE2\tLabel ', 'tsv', 'case.tsv'],
  ])('recognises the header %j', async (header, format, name) => {
    const sep = format === 'csv' ? ',' : '\t';
    const file = await tmp.write(name, `${header}\nOne${sep}Two${sep}1\n`);
    const r = await readDataset(file);
    expect(r.format).toBe(format);
    expect(r.pairs).toEqual([{ sentence1: 'One', sentence2: 'Two', label: 1, line: 2 }]);
  });

  it('finds columns by alias wherever they are and ignores other columns', async () => {
    const file = await tmp.write('qqp-full.csv', 'id,qid1,qid2,question1,question2,is_duplicate\n7,1,2,How?,Why?,0\n');
    const r = await readDataset(file);
    expect(r.columns).toEqual({ sentence1: 'question1', sentence2: 'question2', label: 'is_duplicate' });
    expect(r.pairs[0]).toMatchObject({ sentence1: 'How?', sentence2: 'Why?', label: 0 });
  });

  it('reads MRPC native TSV (BOM, CRLF, 5 columns) as mrpc-tsv', async () => {
    const file = await tmp.write('mini_mrpc.txt', '\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n1\t11\t12\tFirst one.\tFirst 1.\r\n0\t13\t14\tSecond.\tOther.\r\n');
    const r = await readDataset(file);
    expect(r.format).toBe('mrpc-tsv');
    expect(r.columns).toEqual({ sentence1: '#1 String', sentence2: '#2 String', label: 'Quality' });
    expect(r.pairs).toEqual([
      { sentence1: 'First one.', sentence2: 'First 1.', label: 1, line: 2 },
      { sentence1: 'Second.', sentence2: 'Other.', label: 0, line: 3 },
    ]);
  });

  it('reads JSONL by key, with blank lines anywhere and JSON numbers/booleans as labels', async () => {
    const file = await tmp.write(
      'pairs.jsonl',
      '\n{"sentence1":"a b","sentence2":"c d","label":1}\n\n{"sentence2":"g","sentence1":"e f","label":false,"extra":3}\r\n{"sentence1":"h","sentence2":"i","label":"0"}\n\n',
    );
    const r = await readDataset(file);
    expect(r.format).toBe('jsonl');
    expect(r.pairs).toEqual([
      { sentence1: 'a b', sentence2: 'c d', label: 1, line: 2 },
      { sentence1: 'e f', sentence2: 'g', label: 0, line: 4 },
      { sentence1: 'h', sentence2: 'i', label: 0, line: 5 },
    ]);
    expect(r.counts.rows + r.counts.skipped).toBe(3);
  });

  it('accepts .ndjson and explicit JSONL keys', async () => {
    const file = await tmp.write('pairs.ndjson', '{"a":"one","b":"two","y":"yes"}\n');
    const r = await readDataset(file, { sentence1Col: 'a', sentence2Col: 'B', labelCol: 'y' });
    expect(r.pairs).toEqual([{ sentence1: 'one', sentence2: 'two', label: 1, line: 1 }]);
    expect(r.columns).toEqual({ sentence1: 'a', sentence2: 'b', label: 'y' });
  });

  it('lets the content overrule a misleading extension, and --format overrule both', async () => {
    const tabs = await tmp.write('really-tabs.csv', 'sentence1\tsentence2\tlabel\nx, y\tz\t1\n');
    expect((await readDataset(tabs)).format).toBe('tsv');
    const forced = await tmp.write('forced.dat', 'sentence1|sentence2|label\n');
    await expect(readDataset(forced)).rejects.toThrow(/Cannot tell the format.*--format/s);
  });
});

describe('readDataset: bytes and lines', () => {
  it('handles BOM, CRLF, LF and a missing final newline alike', async () => {
    const variants = {
      'lf.tsv': 'sentence1\tsentence2\tlabel\nA\tB\t1\nC\tD\t0\n',
      'crlf.tsv': 'sentence1\tsentence2\tlabel\r\nA\tB\t1\r\nC\tD\t0\r\n',
      'bom.tsv': '\uFEFFsentence1\tsentence2\tlabel\nA\tB\t1\nC\tD\t0\n',
      'noeol.tsv': 'sentence1\tsentence2\tlabel\r\nA\tB\t1\r\nC\tD\t0',
      'trailing-blank.tsv': 'sentence1\tsentence2\tlabel\nA\tB\t1\nC\tD\t0\n\n\r\n',
    };
    for (const [name, text] of Object.entries(variants)) {
      const r = await readDataset(await tmp.write(name, text));
      expect(r.pairs, name).toEqual([
        { sentence1: 'A', sentence2: 'B', label: 1, line: 2 },
        { sentence1: 'C', sentence2: 'D', label: 0, line: 3 },
      ]);
    }
  });

  it('keeps stray and unpaired quotes in TSV exactly as written', async () => {
    const s1 = '"The pie business does not fit, he said.';
    const s2 = 'He said "no\'\' and left "" then "';
    const file = await tmp.write('quotes.tsv', `sentence1\tsentence2\tlabel\n${s1}\t${s2}\t1\n"x\t"y"\t0\n`);
    const r = await readDataset(file);
    expect(r.pairs).toEqual([
      { sentence1: s1, sentence2: s2, label: 1, line: 2 },
      { sentence1: '"x', sentence2: '"y"', label: 0, line: 3 },
    ]);
  });

  it('keeps non-ASCII text and a U+FEFF that is not at the start of the file', async () => {
    const file = await tmp.write('utf8.tsv', 'sentence1\tsentence2\tlabel\n£5 – “quoted” é €\t\uFEFFzero-width ½\t1\n');
    const r = await readDataset(file);
    expect(r.pairs[0]).toMatchObject({ sentence1: '£5 – “quoted” é €', sentence2: '\uFEFFzero-width ½' });
  });

  it('reports invalid UTF-8 by line, with the byte and its offset', async () => {
    const bytes = bytesOf('sentence1\tsentence2\tlabel\nok\tfine\t1\nbad ', [0xff], '\there\t0\nalso ', [0xc3, 0x28], '\tx\t1\nok\tagain\t0\n');
    const file = await tmp.write('bad-utf8.tsv', bytes);
    const err = await datasetError(() => readDataset(file));
    expect(err.issues.map((i) => i.line)).toEqual([3, 4]);
    expect(err.issues[0].reason).toMatch(/invalid UTF-8: byte 0xff at file offset 40/);
    expect(err.issues[1].reason).toMatch(/byte 0xc3/);
    const skipped = await readDataset(file, { skipInvalid: true });
    expect(skipped.pairs.map((p) => p.line)).toEqual([2, 5]);
  });

  it('fails on an invalid UTF-8 header', async () => {
    const file = await tmp.write('bad-header.tsv', bytesOf('sentence1\tsentence', [0x80], '\tlabel\na\tb\t1\n'));
    await expect(readDataset(file)).rejects.toThrow(/header .* is not valid UTF-8/);
  });
});

describe('readDataset: CSV', () => {
  it('handles quoted commas, doubled quotes and embedded newlines with the right line numbers', async () => {
    const text = 'sentence1,sentence2,label\r\n"Hello, world","She said ""hi""",1\r\n"two\r\nlines","three\nmore\nlines",0\r\nplain,after,1\r\n';
    const r = await readDataset(await tmp.write('quoted.csv', text));
    expect(r.pairs).toEqual([
      { sentence1: 'Hello, world', sentence2: 'She said "hi"', label: 1, line: 2 },
      { sentence1: 'two\nlines', sentence2: 'three\nmore\nlines', label: 0, line: 3 },
      { sentence1: 'plain', sentence2: 'after', label: 1, line: 7 },
    ]);
  });

  it('keeps a quote inside an unquoted field as text', async () => {
    const r = await readDataset(await tmp.write('inner-quote.csv', 'sentence1,sentence2,label\nHe said "hi,there,1\n'));
    expect(r.pairs[0]).toMatchObject({ sentence1: 'He said "hi', sentence2: 'there' });
  });

  it('reports bad CSV rows by their first line, after multi-line records', async () => {
    const text = 'sentence1,sentence2,label\n"a\nb",c,1\nonly,two\nd,e,1\n"never closed,f,1\ng,h,0\n';
    const file = await tmp.write('broken.csv', text);
    const err = await datasetError(() => readDataset(file));
    expect(err.issues.map((i) => i.line)).toEqual([4, 6]);
    expect(err.issues[0].reason).toMatch(/expected 3 comma-separated fields, got 2/);
    expect(err.issues[1].reason).toMatch(/quoted field opened on line 6 never closes \(read to line 7\)/);
    const r = await readDataset(file, { skipInvalid: true });
    expect(r.pairs.map((p) => p.line)).toEqual([2, 5]);
    expect(r.counts).toMatchObject({ rows: 2, skipped: 2 });
  });
});

describe('readDataset: labels', () => {
  it.each([
    ['1', 1], ['0', 0], ['true', 1], ['FALSE', 0], ['Yes', 1], ['no', 0], [' 1 ', 1],
  ] as const)('accepts %j as %d', async (value, label) => {
    const r = await readDataset(await tmp.write(`label-${label}.tsv`, `sentence1\tsentence2\tlabel\na\tb\t${value}\n`));
    expect(r.pairs[0].label).toBe(label);
  });

  it.each(['1.0', '0.0', '1.000', '0.000', '01'])('rejects %j: labels are exactly 0/1, true/false or yes/no', async (value) => {
    const err = await datasetError(async () => readDataset(await tmp.write('float-label.tsv', `sentence1\tsentence2\tlabel\na\tb\t${value}\n`)));
    expect(err.issues[0].reason).toMatch(/--label-threshold/);
  });

  // An STS-style file: similarity scores from 0 to 5, where 1.000 means very dissimilar.
  const STS = 'sentence1\tsentence2\tscore\nA man plays.\tA man plays a flute.\t3.800\nA cat.\tA plane lands.\t0.000\nA dog runs.\tThe sky is blue.\t1.000\nTwo kids.\tTwo children.\t5.000\nA cook.\tA chef.\t4\n';

  it('refuses a score column as labels, even with skipInvalid, so no score becomes a label', async () => {
    const file = await tmp.write('sts.tsv', STS);
    for (const skipInvalid of [false, true]) {
      const err = await datasetError(() => readDataset(file, { labelCol: 'score', skipInvalid }));
      expect(err.message).toMatch(/label column "score" holds numbers other than 0 and 1 \(5 of 5 rows, from 0 to 5\).*--label-threshold T/s);
    }
  });

  it('labelThreshold: label 1 when score >= T, for score columns; the rule is in the result', async () => {
    const file = await tmp.write('sts-t.tsv', STS);
    const r = await readDataset(file, { labelCol: 'score', labelThreshold: 4 });
    expect(r.pairs.map((p) => p.label)).toEqual([0, 0, 0, 1, 1]);
    expect(r.labelRule).toEqual({ column: 'score', threshold: 4 });
    const bad = await tmp.write('sts-bad.tsv', STS + 'a\tb\tn/a\n');
    const err = await datasetError(() => readDataset(bad, { labelCol: 'score', labelThreshold: 4 }));
    expect(err.issues).toEqual([expect.objectContaining({ line: 7, field: 'score', reason: expect.stringMatching(/"n\/a" is not a number.*--label-threshold/) })]);
    await expect(readDataset(file, { labelCol: 'score', labelThreshold: 4, positiveLabel: '5' })).rejects.toThrow(/either --positive-label .* or --label-threshold .* not both/);
  });

  it('refuses JSON numbers other than 0 and 1 the same way', async () => {
    const file = await tmp.write('sts.jsonl', '{"sentence1":"a","sentence2":"b","label":1}\n{"sentence1":"c","sentence2":"d","label":2.5}\n');
    await expect(readDataset(file, { skipInvalid: true })).rejects.toThrow(/holds numbers other than 0 and 1/);
    expect((await readDataset(file, { labelThreshold: 2.5 })).pairs.map((p) => p.label)).toEqual([0, 1]);
  });

  it('rejects other values, naming the value and the fix', async () => {
    const file = await tmp.write('bad-labels.tsv', 'sentence1\tsentence2\tlabel\na\tb\t2\nc\td\tparaphrase\ne\tf\t\n');
    const err = await datasetError(() => readDataset(file));
    expect(err.issues).toHaveLength(3);
    expect(err.issues[0]).toMatchObject({ line: 2, field: 'label', reason: expect.stringMatching(/label "2" is a number but not 0 or 1.*--label-threshold T/) });
    // Issue 19: a whole number other than 0/1 is most likely a class: binary, --positive-label.
    expect(err.message).toMatch(/holds whole numbers other than 0 and 1 \(2 occur.*simpair is binary/);
    expect(err.issues[1].reason).toMatch(/"paraphrase" is not 0\/1, true\/false or yes\/no; use 0 or 1, or pass --positive-label VALUE/);
    expect(err.issues[2].reason).toMatch(/label is missing/);
  });

  it('maps categorical labels with positiveLabel: that value 1, any other non-empty value 0', async () => {
    const file = await tmp.write('nli.csv', 'sentence1,sentence2,label\na,b,entailment\nc,d,neutral\ne,f,contradiction\ng,h,\n');
    const err = await datasetError(() => readDataset(file, { positiveLabel: 'entailment' }));
    expect(err.issues).toEqual([{ file, line: 5, field: 'label', reason: expect.stringMatching(/label is missing/) }]);
    const r = await readDataset(file, { positiveLabel: 'entailment', skipInvalid: true });
    expect(r.pairs.map((p) => p.label)).toEqual([1, 0, 0]);
    expect(r.counts).toEqual({ rows: 3, positives: 1, negatives: 2, skipped: 1 });
  });

  it('fails when positiveLabel matches no row (a typo would make every label 0)', async () => {
    const file = await tmp.write('nli-typo.csv', 'sentence1,sentence2,label\na,b,entailment\n');
    await expect(readDataset(file, { positiveLabel: 'Entailment' })).rejects.toThrow(/matches no row.*spelling and case/);
  });
});

describe('readDataset: bad rows', () => {
  const bad = [
    'sentence1\tsentence2\tlabel',
    'good\trow\t1', // 2
    'too\tmany\t1\textra', // 3
    'too few', // 4
    '   \tempty first\t0', // 5
    '', // 6: blank line between rows
    'empty second\t\t1', // 7
    'x\ty\tmaybe', // 8
    'good\tagain\t0', // 9
    '\t\tmaybe', // 10: several problems in one row
  ].join('\n');

  it('collects every bad row, not just the first, and lists them in the message', async () => {
    const file = await tmp.write('bad-rows.tsv', bad + '\n');
    const err = await datasetError(() => readDataset(file));
    expect(err.name).toBe('DatasetError');
    expect(err.issues.map((i) => i.line)).toEqual([3, 4, 5, 6, 7, 8, 10]);
    expect(err.issues.every((i) => i.file === file)).toBe(true);
    expect(err.message).toContain('7 of 9 data rows are invalid');
    expect(err.message).toMatch(/line 3: expected 3 tab-separated fields, got 4/);
    expect(err.message).toMatch(/line 5 \(sentence1\): sentence1 is empty/);
    expect(err.message).toMatch(/line 6: blank line/);
    expect(err.message).toMatch(/--skip-invalid/);
    expect(err.issues[6]).toMatchObject({ field: 'sentence1, sentence2, label' });
    expect(err.issues[6].reason).toMatch(/^sentence1 is empty .*; sentence2 is empty .*; label "maybe" is not/);
  });

  it('with skipInvalid returns the good rows and the skipped issues, dropping nothing silently', async () => {
    const file = await tmp.write('bad-rows-skip.tsv', bad + '\n\n');
    const r = await readDataset(file, { skipInvalid: true });
    expect(r.pairs.map((p) => p.line)).toEqual([2, 9]);
    expect(r.skipped.map((i) => i.line)).toEqual([3, 4, 5, 6, 7, 8, 10]);
    expect(r.counts).toEqual({ rows: 2, positives: 1, negatives: 1, skipped: 7 });
    expect(r.counts.rows + r.counts.skipped).toBe(bad.split('\n').length - 1);
  });

  it('lists the first 20 bad rows in the message and counts the rest', async () => {
    const rows = Array.from({ length: 45 }, (_, i) => `s${i}\tt${i}\t${i % 3 === 0 ? 1 : 'x'}`);
    const file = await tmp.write('many-bad.tsv', ['sentence1\tsentence2\tlabel', ...rows].join('\n'));
    const err = await datasetError(() => readDataset(file));
    expect(err.issues).toHaveLength(30);
    expect(err.message.match(/^ {2}line /gm)).toHaveLength(20);
    expect(err.message).toContain('... and 10 more');
  });

  it('truncates long values in reasons to about 60 characters', async () => {
    const file = await tmp.write('long.tsv', `sentence1\tsentence2\tlabel\na\tb\t${'y'.repeat(500)}\n`);
    const err = await datasetError(() => readDataset(file));
    expect(err.issues[0].reason).toContain(`"${'y'.repeat(59)}…"`);
    expect(err.issues[0].reason.length).toBeLessThan(200);
  });

  it('reports JSON parse errors, non-objects, missing keys and non-string sentences', async () => {
    const file = await tmp.write(
      'bad.jsonl',
      ['{"sentence1":"a","sentence2":"b","label":1}', '{"sentence1":"a",', '[1,2]', '{"sentence1":"a","label":0}', '{"sentence1":5,"sentence2":"b","label":1}', '{"sentence1":"a","sentence2":"b","label":null}'].join('\n'),
    );
    const err = await datasetError(() => readDataset(file));
    expect(err.issues.map((i) => [i.line, i.reason.split(/[:(;]/)[0].trim()])).toEqual([
      [2, 'invalid JSON'],
      [3, 'expected a JSON object per line, got [1,2]'],
      [4, 'sentence2 key "sentence2" is missing'],
      [5, 'sentence1 must be a string, got 5'],
      [6, 'label is missing'],
    ]);
  });
});

describe('readDataset: columns', () => {
  it('reads by index with noHeader (default 0, 1, 2)', async () => {
    const file = await tmp.write('nohead.tsv', 'A\tB\t1\nC\tD\t0\n');
    const r = await readDataset(file, { noHeader: true });
    expect(r.pairs).toEqual([
      { sentence1: 'A', sentence2: 'B', label: 1, line: 1 },
      { sentence1: 'C', sentence2: 'D', label: 0, line: 2 },
    ]);
    expect(r.columns).toEqual({ sentence1: 'column 0', sentence2: 'column 1', label: 'column 2' });
  });

  it('reads chosen indices with noHeader, and MRPC indices for headerless mrpc-tsv', async () => {
    const file = await tmp.write('nohead-idx.csv', '1,x,First,Second\n0,y,Third,Fourth\n');
    const r = await readDataset(file, { noHeader: true, sentence1Col: 2, sentence2Col: 3, labelCol: 0 });
    expect(r.pairs.map((p) => [p.sentence1, p.sentence2, p.label])).toEqual([['First', 'Second', 1], ['Third', 'Fourth', 0]]);
    const mrpc = await tmp.write('mrpc-nohead.txt', '1\t11\t12\tOne.\tTwo.\r\n');
    expect((await readDataset(mrpc, { noHeader: true, format: 'mrpc-tsv' })).pairs).toEqual([{ sentence1: 'One.', sentence2: 'Two.', label: 1, line: 1 }]);
  });

  it('with noHeader, flags the odd row out against the usual field count', async () => {
    const file = await tmp.write('nohead-bad.tsv', 'A\tB\t1\nshort\t1\nC\tD\t0\n');
    const err = await datasetError(() => readDataset(file, { noHeader: true }));
    expect(err.issues).toEqual([{ file, line: 2, reason: expect.stringMatching(/expected 3 tab-separated fields, got 2/) }]);
  });

  it('rejects names with noHeader and indices beyond the row width', async () => {
    const file = await tmp.write('nohead-names.tsv', 'A\tB\t1\n');
    await expect(readDataset(file, { noHeader: true, sentence1Col: 'sentence1' })).rejects.toThrow(/has no header.*0-based index/);
    await expect(readDataset(file, { noHeader: true, labelCol: 5 })).rejects.toThrow(/Column index 5 is out of range.*3 fields/);
  });

  it('picks columns by header name or index, case-insensitively', async () => {
    const file = await tmp.write('custom.csv', 'ID,First Text,Second Text,Gold\n1,a,b,yes\n');
    const byName = await readDataset(file, { sentence1Col: 'first text', sentence2Col: 'SECOND TEXT', labelCol: 'gold' });
    const byIndex = await readDataset(file, { sentence1Col: 1, sentence2Col: 2, labelCol: 3 });
    for (const r of [byName, byIndex]) {
      expect(r.pairs).toEqual([{ sentence1: 'a', sentence2: 'b', label: 1, line: 2 }]);
      expect(r.columns).toEqual({ sentence1: 'First Text', sentence2: 'Second Text', label: 'Gold' });
    }
  });

  it('fails on a header with no recognisable column, listing the header and the options', async () => {
    const file = await tmp.write('unknown.csv', 'foo,bar,baz\na,b,1\n');
    const err = await datasetError(() => readDataset(file));
    expect(err.message).toMatch(/header of .*unknown\.csv \(line 1\) \["foo", "bar", "baz"\] names no recognisable columns/);
    expect(err.message).toMatch(/--sentence1-col, --sentence2-col, --label-col/);
    expect(err.message).toMatch(/--no-header/);
    expect(err.issues.map((i) => i.field)).toEqual(['sentence1', 'sentence2', 'label']);
  });

  it('reports every column problem at once: missing label, unknown name, ambiguity', async () => {
    const file = await tmp.write('partial.tsv', 'sentence1\ttext_a\tsentence2\na\tb\tc\n');
    const err = await datasetError(() => readDataset(file, { sentence2Col: 'nope' }));
    expect(err.issues.map((i) => i.field)).toEqual(['sentence1', 'sentence2', 'label']);
    expect(err.message).toMatch(/2 columns could be the sentence1: "sentence1", "text_a"/);
    expect(err.message).toMatch(/--sentence2-col "nope" is not in the header/);
    expect(err.message).toMatch(/no label column/);
  });

  it('rejects two roles on the same column', async () => {
    const file = await tmp.write('same.tsv', 'sentence1\tsentence2\tlabel\na\tb\t1\n');
    await expect(readDataset(file, { sentence2Col: 0 })).rejects.toThrow(/sentence1 and sentence2 are both column "sentence1"/);
  });
});

describe('readDataset: empty and unreadable files', () => {
  it.each([
    ['empty.tsv', ''],
    ['blank.tsv', '\n\r\n  \n'],
    ['bom-only.csv', '\uFEFF'],
  ])('fails on %s as empty', async (name, text) => {
    await expect(readDataset(await tmp.write(name, text))).rejects.toThrow(/is empty/);
  });

  it('fails on a header without data rows', async () => {
    await expect(readDataset(await tmp.write('header-only.tsv', 'sentence1\tsentence2\tlabel\n\n'))).rejects.toThrow(/has no data rows \(only the header on line 1\)/);
  });

  it('fails when skipInvalid leaves nothing', async () => {
    const file = await tmp.write('all-bad.tsv', 'sentence1\tsentence2\tlabel\na\tb\tz\n');
    await expect(readDataset(file, { skipInvalid: true })).rejects.toThrow(/no valid rows: all 1 data rows are invalid/);
  });

  it('names a missing file and keeps the cause', async () => {
    const err = await datasetError(() => readDataset(`${tmp.dir()}/nope.tsv`));
    expect(err.message).toMatch(/nope\.tsv does not exist/);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('readDataset: unlabelled pairs', () => {
  it('does not read labels with requireLabels: false', async () => {
    const file = await tmp.write('to-score.tsv', 'sentence1\tsentence2\nA\tB\nC\tD\n');
    const r = await readDataset(file, { requireLabels: false });
    expect(r.pairs).toEqual([
      { sentence1: 'A', sentence2: 'B', line: 2 },
      { sentence1: 'C', sentence2: 'D', line: 3 },
    ]);
    expect(r.columns).toEqual({ sentence1: 'sentence1', sentence2: 'sentence2' });
    expect(r.counts).toEqual({ rows: 2, positives: 0, negatives: 0, skipped: 0 });
  });

  it('ignores a label column, even with odd values, and fails without labels otherwise', async () => {
    const file = await tmp.write('to-score-labelled.tsv', 'sentence1\tsentence2\tlabel\nA\tB\t?\n');
    expect((await readDataset(file, { requireLabels: false })).pairs).toEqual([{ sentence1: 'A', sentence2: 'B', line: 2 }]);
    const noLabels = await tmp.write('no-labels.tsv', 'sentence1\tsentence2\nA\tB\n');
    await expect(readDataset(noLabels)).rejects.toThrow(/no label column/);
  });
});

describe('readDataset: JSONL columns', () => {
  it('reports keys that could both be a sentence as ambiguous, not as unrecognised', async () => {
    const file = await tmp.write('ambiguous.jsonl', '{"question1":"x","question2":"y","sentence1":"h","sentence2":"i","label":0}\n');
    const err = await datasetError(() => readDataset(file));
    expect(err.message).toMatch(/2 columns could be the sentence1: "question1", "sentence1"; pick one with --sentence1-col/);
    expect((await readDataset(file, { sentence1Col: 'question1', sentence2Col: 'question2' })).pairs[0]).toMatchObject({ sentence1: 'x', sentence2: 'y' });
  });

  it('rejects index columns and noHeader for JSONL', async () => {
    const file = await tmp.write('idx.jsonl', '{"a":"x","b":"y","label":1}\n');
    await expect(readDataset(file, { sentence1Col: 0, sentence2Col: 'b' })).rejects.toThrow(/--sentence1-col 0 is an index, but JSONL rows are objects/);
    await expect(readDataset(file, { noHeader: true })).rejects.toThrow(/--no-header does not apply to JSONL/);
  });

  it('fails with every row listed when no line is a JSON object', async () => {
    const file = await tmp.write('no-objects.jsonl', '[1]\n{oops\n');
    const err = await datasetError(() => readDataset(file, { skipInvalid: true }));
    expect(err.issues.map((i) => i.line)).toEqual([1, 2]);
  });
});

describe('readDataset: files that are not plain datasets', () => {
  it('refuses a FIFO at once instead of blocking on it (nobody ever writes to this one)', { timeout: 20_000 }, async () => {
    const fifo = join(tmp.dir(), 'pipe.tsv');
    execFileSync('mkfifo', [fifo]);
    const err = await datasetError(() => readDataset(fifo));
    expect(err.message).toMatch(/pipe\.tsv is a FIFO \(named pipe\), not a regular file/);
  });

  it('refuses a directory and a character device with what they are', async () => {
    await expect(readDataset(tmp.dir())).rejects.toThrow(/is a directory/);
    await expect(readDataset('/dev/zero')).rejects.toThrow(/\/dev\/zero is a device, not a regular file/);
  });

  it.each([
    ['gzip', 'train.tsv.gz', () => gzipSync('sentence1\tsentence2\tlabel\nA.\tB.\t1\n')],
    ['zip', 'train.zip', () => bytesOf([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00], 'rest of a zip')],
  ])('says a %s dataset is compressed: decompress it first', async (kind, name, bytes) => {
    const file = await tmp.write(name, bytes());
    const err = await datasetError(() => readDataset(file));
    expect(err.message).toMatch(new RegExp(`is compressed \\(${kind}\\): decompress it first`));
    expect(err.message).not.toMatch(/UTF-8/);
  });

  it('quotes at most a short start of a line whose fields are wrong, never the whole line', async () => {
    const file = await tmp.write('leak.tsv', 'sentence1\tsentence2\tlabel\nabcdefghijklmnopqrstuvwxyz0123456789-SECRET\nA.\tB.\t1\n');
    const err = await datasetError(() => readDataset(file));
    expect(err.message).toMatch(/line 2: expected 3 tab-separated fields, got 1/);
    expect(err.message).not.toContain('SECRET');
  });
});

describe('readDataset: what a new user is told (issue 19)', () => {
  it('a mistyped header cell gets "did you mean", with the header found', async () => {
    const file = await tmp.write('typo.csv', 'question1,qestion2,is_duplicate\nA cat.,A dog.,1\n');
    const err = await datasetError(() => readDataset(file));
    expect(err.message).toMatch(/no sentence2 column in the header \["question1", "qestion2", "is_duplicate"\]/);
    expect(err.message).toMatch(/the header has "qestion2": did you mean "question2"\? Rename it or pass --sentence2-col "qestion2"/);
    const flag = await datasetError(() => readDataset(file, { sentence2Col: 'question2' }));
    expect(flag.message).toMatch(/--sentence2-col "question2" is not in the header .*; did you mean "qestion2"\?/);
  });

  it('a 3-class label column is told simpair is binary and pointed at --positive-label', async () => {
    const file = await tmp.write('three.tsv', 'sentence1\tsentence2\tlabel\nA.\tB.\t0\nC.\tD.\t1\nE.\tF.\t2\n');
    const err = await datasetError(() => readDataset(file));
    expect(err.message).toMatch(/holds whole numbers other than 0 and 1 \(0, 1, 2 occur/);
    expect(err.message).toMatch(/simpair is binary/);
    expect(err.message).toMatch(/Pass --positive-label VALUE to make one class 1/);
    // A real score column still gets the threshold advice first.
    const scores = await tmp.write('scores.tsv', 'sentence1\tsentence2\tlabel\nA.\tB.\t0.4\nC.\tD.\t3.8\n');
    expect((await datasetError(() => readDataset(scores))).message).toMatch(/looks like a similarity score.*\n[\s\S]*Pass --label-threshold T/);
  });

  it('when every row is bad it does not suggest --skip-invalid', async () => {
    const file = await tmp.write('allbad.tsv', 'sentence1\tsentence2\tlabel\nA.\tB.\tx\nC.\tD.\ty\n');
    const err = await datasetError(() => readDataset(file));
    expect(err.message).toMatch(/2 of 2 data rows are invalid/);
    expect(err.message).not.toMatch(/--skip-invalid/);
    expect(err.message).toMatch(/no row is valid/);
  });
});
